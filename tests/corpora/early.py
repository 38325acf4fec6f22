"""Lessons 00-05: answers written differently from the references, which the checks must accept, and mistakes
the existing per-lesson tests do not already cover, which they must refuse with a reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from http.cookies import SimpleCookie

import httpx
import jwt
import requests
import requests.auth

from coursekit.exercises import ex01, ex02, ex03, ex04, ex05
from corpora import right, wrong

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# --- 01 -----------------------------------------------------------------------------------------------------------

SET_COOKIE = "session=o7nTknq8n0yPsKFx-6yzRabHlq_nlntgSM07rkBEMVw; HttpOnly; Path=/; SameSite=strict"


def _flags_with_simplecookie(set_cookie):
    morsel = next(iter(SimpleCookie(set_cookie).values()))
    return {"HttpOnly": bool(morsel["httponly"]), "Secure": bool(morsel["secure"]),
            "SameSite": morsel["samesite"] or None}


def _flags_with_regex(set_cookie):
    def has(name):
        return re.search(rf";\s*{name}\s*(;|$)", set_cookie, re.I) is not None
    same_site = re.search(r";\s*samesite=([^;]*)", set_cookie, re.I)
    return {"HttpOnly": has("httponly"), "Secure": has("secure"), "SameSite": same_site.group(1) if same_site else None}


def _flags_case_sensitive(set_cookie):
    return {"HttpOnly": "HttpOnly" in set_cookie, "Secure": "Secure" in set_cookie,
            "SameSite": "Strict" if "SameSite=Strict" in set_cookie else None}


def _row_by_filter(server, session_id):
    rows = [r for r in server.table("sessions") if r["id_hash"] == hashlib.sha256(session_id.encode()).hexdigest()]
    return rows[0] if rows else None


def _row_by_sha256_of_bytes(server, session_id):
    digest = hashlib.new("sha256", bytes(session_id, "ascii")).hexdigest()
    return {r["id_hash"]: r for r in server.table("sessions")}.get(digest)


def _row_by_md5(server, session_id):
    digest = hashlib.md5(session_id.encode()).hexdigest()  # noqa: S324 - the mistake under test
    return next((r for r in server.table("sessions") if r["id_hash"] == digest), None)


# --- 02 -----------------------------------------------------------------------------------------------------------

def _login_with_urllib(url, username, password):
    form = urllib.parse.urlencode({"grant_type": "password", "username": username, "password": password})
    with _NO_PROXY.open(url + "/oauth/token", data=form.encode(), timeout=10) as r:
        return json.load(r)["access_token"]


def _login_with_a_session(url, username, password):
    with requests.Session() as http:
        http.trust_env = False
        answer = http.post(f"{url}/oauth/token", timeout=10, data=dict(
            grant_type="password", username=username, password=password, client_id="jwt-course"))
        answer.raise_for_status()
        return answer.json().get("access_token")


def _login_sends_no_grant_type(url, username, password):
    return requests.post(url + "/oauth/token", data={"username": username, "password": password},
                         timeout=10).json().get("access_token")


# --- 03 -----------------------------------------------------------------------------------------------------------

def _decode_with_altchars(token):
    segment = token.split(".")[1]
    return json.loads(base64.b64decode(segment + "==", altchars=b"-_"))


def _decode_by_translating(token):
    segment = token.split(".")[1].replace("-", "+").replace("_", "/")
    return json.loads(base64.b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8"))


def _decode_standard_alphabet(token):
    segment = token.split(".")[1]
    return json.loads(base64.b64decode(segment + "=" * (-len(segment) % 4)))


def _decode_as_latin1(token):
    """Right on ASCII payloads, wrong on any other: the JSON text of a JWT is UTF-8."""
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("latin-1"))


def _decode_right(token):
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _sign_with_hmac_digest(signing_input, key):
    return base64.urlsafe_b64encode(hmac.digest(key, signing_input, "sha256")).decode().rstrip("=")


def _sign_hexdigest(signing_input, key):
    return hmac.new(key, signing_input, hashlib.sha256).hexdigest()


def _sign_keeping_padding(signing_input, key):
    return base64.urlsafe_b64encode(hmac.new(key, signing_input, hashlib.sha256).digest()).decode()


def _verify_with_urllib_and_a_key_set(token, jwks_url, issuer, now):
    with _NO_PROXY.open(jwks_url, timeout=10) as r:
        keys = jwt.PyJWKSet.from_dict(json.load(r))
    header = jwt.get_unverified_header(token)
    if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
        raise jwt.InvalidTokenError("not an access token")
    claims = jwt.decode(token, keys[header["kid"]], algorithms=["RS256"], audience="lab-api", issuer=issuer,
                        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"], "verify_exp": False,
                                 "verify_iat": False, "verify_nbf": False}, leeway=0)
    if not claims["iat"] - 30 <= now < claims["exp"] + 30 or now < claims.get("nbf", now) - 30:
        raise jwt.InvalidTokenError("not valid at this time")
    return claims


def _verify_with_typ_lowercased_only(token, jwks_url, issuer, now):
    """Case-insensitive, but forgets that application/ may precede the media type."""
    if str(jwt.get_unverified_header(token).get("typ", "")).lower() != "at+jwt":
        raise jwt.InvalidTokenError("not an access token")
    return _verify_with_urllib_and_a_key_set(token, jwks_url, issuer, now)


def _verify_without_nbf(token, jwks_url, issuer, now):
    """Checks typ, signature, iat and exp, and forgets nbf."""
    header = jwt.get_unverified_header(token)
    if str(header.get("typ", "")).lower().removeprefix("application/") != "at+jwt":
        raise jwt.InvalidTokenError("not an access token")
    key = jwt.PyJWKClient(jwks_url).get_signing_key(header["kid"])
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="lab-api", issuer=issuer,
                        options={"require": ["exp", "iat", "sub", "jti"], "verify_exp": False, "verify_iat": False,
                                 "verify_nbf": False})
    if not claims["iat"] <= now < claims["exp"]:
        raise jwt.InvalidTokenError("not valid at this time")
    return claims


def _verify_accepting_any_typ(token, jwks_url, issuer, now):
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKClient(jwks_url).get_signing_key(header["kid"])
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="lab-api", issuer=issuer,
                        options={"require": ["exp", "iat"], "verify_exp": False, "verify_iat": False,
                                 "verify_nbf": False})
    if not claims["iat"] <= now < claims["exp"] or now < claims.get("nbf", now):
        raise jwt.InvalidTokenError("not valid at this time")
    return claims


def _verify_with(token, jwks_url, issuer, now, *, typ_ok=None, require=("iss", "sub", "aud", "exp", "iat", "jti"),
                 algorithms=("RS256",), aud=None, iss=None, keys_from=None):
    """A right ex03 verifier but for the one slip its keyword names."""
    header = jwt.get_unverified_header(token)
    typ = header.get("typ")
    if not (typ_ok or (lambda t: str(t or "").lower().removeprefix("application/") == "at+jwt"))(typ):
        raise jwt.InvalidTokenError("not an access token")
    key = jwt.PyJWKClient(keys_from(header) if keys_from else jwks_url).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=algorithms if isinstance(algorithms, str) else list(algorithms),
                        audience=None if aud else "lab-api", issuer=None if iss else issuer,
                        options={"require": list(require), "verify_exp": False, "verify_iat": False,
                                 "verify_nbf": False, "verify_aud": not aud, "verify_iss": not iss})
    if aud:
        aud(claims)
    if iss:
        iss(claims, issuer)
    if not claims["iat"] <= now < claims["exp"] or now < claims.get("nbf", now):
        raise jwt.InvalidTokenError("not valid at this time")
    return claims


def _verify_typ_only_when_present(token, jwks_url, issuer, now):
    return _verify_with(token, jwks_url, issuer, now,
                        typ_ok=lambda t: t is None or t.lower().removeprefix("application/") == "at+jwt")


def _verify_typ_as_substring(token, jwks_url, issuer, now):
    return _verify_with(token, jwks_url, issuer, now, typ_ok=lambda t: "at+jwt" in str(t).lower())


def _verify_trusting_jku(token, jwks_url, issuer, now):
    return _verify_with(token, jwks_url, issuer, now, keys_from=lambda header: header.get("jku", jwks_url))


def _verify_requiring_exp_iat_only(token, jwks_url, issuer, now):
    return _verify_with(token, jwks_url, issuer, now, require=("exp", "iat", "iss", "aud"))


def _verify_returning_none(token, jwks_url, issuer, now):
    try:
        return _verify_with(token, jwks_url, issuer, now)
    except jwt.InvalidTokenError:
        return None


def _verify_rsa_family(token, jwks_url, issuer, now):
    return _verify_with(token, jwks_url, issuer, now, algorithms=("RS256", "RS384", "RS512"))


def _verify_algorithms_as_a_string(token, jwks_url, issuer, now):
    return _verify_with(token, jwks_url, issuer, now, algorithms="RS256")


def _aud_substring(claims):
    if "lab-api" not in str(claims["aud"]):
        raise jwt.InvalidAudienceError("not for us")


def _iss_prefix(claims, issuer):
    if not claims["iss"].startswith(issuer):
        raise jwt.InvalidIssuerError("another issuer")


def _verify_aud_as_substring(token, jwks_url, issuer, now):
    return _verify_with(token, jwks_url, issuer, now, aud=_aud_substring)


def _verify_iss_with_startswith(token, jwks_url, issuer, now):
    return _verify_with(token, jwks_url, issuer, now, iss=_iss_prefix)


def _verify_leeway_taken_from_exp(token, jwks_url, issuer, now):
    claims = _verify_with(token, jwks_url, issuer, now)
    if now + 60 >= claims["exp"]:
        raise jwt.ExpiredSignatureError("expired")
    return claims


def _verify_with_a_set_of_typ_spellings(token, jwks_url, issuer, now):
    return _verify_with(token, jwks_url, issuer, now,
                        typ_ok=lambda t: isinstance(t, str) and t.lower() in {"at+jwt", "application/at+jwt"})


# --- 05 -----------------------------------------------------------------------------------------------------------

def _refresh_with_urllib(url, refresh_token):
    form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token}).encode()
    with _NO_PROXY.open(url + "/oauth/token", data=form, timeout=10) as r:
        answer = json.load(r)
    return answer["access_token"], answer["refresh_token"]


def _refresh_returning_a_list(url, refresh_token):
    tokens = requests.post(url + "/oauth/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token}).json()
    return [tokens["access_token"], tokens["refresh_token"]]


def _revoked_with_a_loop(events):
    found = set()
    for event in events:
        if event.get("event") == "reuse_detected" and "family" in event:
            found.add(event["family"])
    return found


def _revoked_as_frozenset_by_reason(events):
    return frozenset(e["family"] for e in events if e["event"] == "family_revoked"
                     and e.get("reason") == "refresh token reused")


def _log_out_with_urllib(url, tokens):
    form = urllib.parse.urlencode({"token": tokens["refresh_token"], "token_type_hint": "refresh_token"})
    _NO_PROXY.open(url + "/oauth/revoke", data=form.encode(), timeout=10).close()
    for name in list(tokens):
        del tokens[name]


def _log_out_popping(url, tokens):
    requests.post(url + "/oauth/revoke", data={"token": tokens.pop("refresh_token")}, timeout=10)
    tokens.pop("access_token", None)
    tokens.clear()


def _log_out_revoking_both_with_httpx(url, tokens):
    # Revoking the access token too, and raising on any error answer: a lab without a denylist says 400.
    for name in ("refresh_token", "access_token"):
        httpx.post(url + "/oauth/revoke", data={"token": tokens[name], "token_type_hint": name}).raise_for_status()
    tokens.clear()


def _log_out_with_a_wrong_key(url, tokens):
    requests.post(url + "/oauth/revoke", data={"token": tokens["refresh"]}, timeout=10)
    tokens.clear()


def _log_in_with_httpx_json(url, username, password):
    return httpx.post(url + "/oauth/token", json={"grant_type": "password", "username": username,
                                                  "password": password}).json()["access_token"]


class _Auth(requests.auth.AuthBase):
    """Keeps its tokens in a dict, under names of its own; refreshes on 401 invalid_token, once."""

    def __init__(self, token_url, access_token, refresh_token):
        self.token_url, self.held = token_url, {"access": access_token, "refresh": refresh_token}

    def __call__(self, request):
        request.headers["Authorization"] = "Bearer " + self.held["access"]
        request.register_hook("response", self.renew)
        return request

    def renew(self, response, **kwargs):
        if response.status_code != 401 or "invalid_token" not in response.headers.get("WWW-Authenticate", ""):
            return response
        answer = requests.post(self.token_url, timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": self.held["refresh"]})
        if not answer.ok:
            return response
        self.held = {"access": answer.json()["access_token"], "refresh": answer.json()["refresh_token"]}
        retry = response.request.copy()
        retry.headers["Authorization"] = "Bearer " + self.held["access"]
        return response.connection.send(retry, **kwargs)


class _AuthRefreshingOnAnyError(_Auth):
    def renew(self, response, **kwargs):
        if response.ok:
            return response
        return super().renew(type("R", (), {"status_code": 401, "headers": {"WWW-Authenticate": "invalid_token"},
                                            "request": response.request, "connection": response.connection})(),
                             **kwargs) if response.status_code == 403 else super().renew(response, **kwargs)


CASES = [
    wrong(ex01.q1, "SimpleCookie, which cannot read a cookie named secure", _flags_with_simplecookie, SET_COOKIE,
          says="on a cookie NAMED like an attribute"),
    right(ex01.q1, "a regex per attribute", _flags_with_regex, SET_COOKIE),
    wrong(ex01.q1, "case-sensitive substring search", _flags_case_sensitive, SET_COOKIE,
          says=("SameSite",)),
    right(ex01.q2, "a list comprehension", _row_by_filter),
    right(ex01.q2, "a dict by hash", _row_by_sha256_of_bytes),
    wrong(ex01.q2, "md5 instead of sha256", _row_by_md5, says="no row matched"),
    right(ex01.q3, "the prediction, keys in another order", {"alice_row_in_store": False, "status": HTTPStatus(401)}),
    right(ex02.q1, "urllib", _login_with_urllib),
    right(ex02.q1, "a session naming the client", _login_with_a_session),
    wrong(ex02.q1, "no grant_type", _login_sends_no_grant_type,
          says=("login() returns NoneType", "answered POST /oauth/token with 400 invalid_request", "grant_type")),
    right(ex02.q2, "the prediction with an HTTPStatus", {"status": HTTPStatus.UNAUTHORIZED, "refused_from": "09:30:00"}),
    right(ex03.q2, "hmac.digest", _sign_with_hmac_digest),
    wrong(ex03.q2, "hexdigest", _sign_hexdigest, says="hex"),
    wrong(ex03.q2, "keeps the '=' padding", _sign_keeping_padding, says="="),
    right(ex03.q3, "urllib, a PyJWKSet, 30 s of leeway", _verify_with_urllib_and_a_key_set),
    wrong(ex03.q3, "accepts any typ and requires few claims", _verify_accepting_any_typ, says="typ is JWT"),
    wrong(ex03.q3, "typ lower-cased but application/ refused", _verify_with_typ_lowercased_only,
          says=('rejected alice\'s valid token written with typ "application/at+jwt"', "media type")),
    wrong(ex03.q3, "no nbf check", _verify_without_nbf, says=("(nbf)", "refuse a token whose nbf is after now")),
    right(ex03.q3, "typ checked against a set of spellings", _verify_with_a_set_of_typ_spellings),
    wrong(ex03.q3, "typ checked only when present", _verify_typ_only_when_present,
          says=("accepted a token signed with the lab's key whose header has no typ", "token type must be at+jwt",
                "RFC 9068 §4")),
    wrong(ex03.q3, "typ as a substring", _verify_typ_as_substring,
          says=('whose typ is "not-at+jwt"', "compare typ whole")),
    wrong(ex03.q3, "keys from the jku header", _verify_trusting_jku,
          says=("`jku` header points at the stranger's own JWK Set", "fetch keys only from jwks_url")),
    wrong(ex03.q3, "requires neither sub nor jti", _verify_requiring_exp_iat_only,
          says=("with no sub claim", "token has no sub claim", "require sub", "sub and jti among them")),
    wrong(ex03.q3, "returns None for a bad token", _verify_returning_none,
          says="return the claims or raise; yours returned None on a forged token"),
    wrong(ex03.q3, "a fixed list of RSA algorithms", _verify_rsa_family,
          says=("fixed allow-list algorithms=['RS256', 'RS384', 'RS512']", "allows ['RS384', 'RS512'] besides RS256")),
    wrong(ex03.q3, "algorithms as a string", _verify_algorithms_as_a_string,
          says=("algorithms='RS256', a string: pass a list",)),
    wrong(ex03.q3, "aud as a substring", _verify_aud_as_substring,
          says=("for aud 'lab-api-staging'", "compare aud whole")),
    wrong(ex03.q3, "iss with startswith", _verify_iss_with_startswith,
          says=(".attacker.example'", "startswith accepts any issuer that begins with yours")),
    wrong(ex03.q3, "60 s of leeway taken from exp", _verify_leeway_taken_from_exp,
          says=("rejected alice's valid token at now = ",)),
    right(ex04.q1, "the boundary as numbers of another type", 59.0, 60.0),
    right(ex04.q3, "another lifetime inside the window", 240, 4, 240),
    right(ex04.q3, "the shortest lifetime as a float", 240.0, 4.0, 120.0),
    wrong(ex04.q3, "a lifetime just under the shortest", 240, 4, 119.9,
          says=("logs in 4.003 times a day", "over the limit of 4", "Pick a longer L")),
    right(ex05.q1, "urllib", _refresh_with_urllib),
    right(ex05.q1, "the two tokens as a list", _refresh_returning_a_list),
    right(ex05.q2, "a loop with .get", _revoked_with_a_loop),
    right(ex05.q2, "a frozenset of the families revoked for reuse", _revoked_as_frozenset_by_reason),
    right(ex05.q3, "urllib with a type hint, emptying the dict key by key", _log_out_with_urllib),
    right(ex05.q3, "popping the tokens", _log_out_popping),
    # The lab's answer is read from the error whichever library raised it (httpx's HTTPStatusError here).
    wrong(ex05.q3, "httpx revoking the access token too, raising on 400", _log_out_revoking_both_with_httpx,
          says=("/oauth/revoke answered 400", "unsupported_token_type", "not a failure")),
    wrong(ex05.q3, "a key the token response does not have", _log_out_with_a_wrong_key,
          says=("KeyError 'refresh'", "the token response has no such key", "'refresh_token'")),
    wrong(ex02.q1, "httpx sending JSON", _log_in_with_httpx_json,
          says=("The lab server had answered POST /oauth/token with 400 invalid_request", "Send a form")),
    right(ex05.q4, "tokens in a dict of its own", _Auth),
    wrong(ex05.q4, "refreshes on a 403 too", _AuthRefreshingOnAnyError,
          says=("refreshed after a 403", "insufficient_scope")),
]


def decode_cases(token: str) -> list:
    """ex03.q1 takes the notebook's token as a second argument: the cases for one token."""
    return [right(ex03.q1, "b64decode with altchars", _decode_with_altchars, token),
            right(ex03.q1, "translated to the standard alphabet", _decode_by_translating, token),
            wrong(ex03.q1, "the standard alphabet untranslated", _decode_standard_alphabet, token,
                  says=("contains '-' and '_'", "use base64.urlsafe_b64decode")),
            # Every run: the fresh payloads always hold non-ASCII text.
            wrong(ex03.q1, "Latin-1 instead of UTF-8", _decode_as_latin1, token,
                  says=("the payload's JSON text is UTF-8", "decode UTF-8")),
            wrong(ex03.q1, "the token response instead of the token", _decode_right, {"access_token": token},
                  says=("the second argument of check is a dict", "tokens['access_token']")),
            wrong(ex03.q1, "the token as bytes", _decode_right, token.encode(),
                  says=("the second argument of check is bytes", "pass the token as a str"))]
