"""The capstone: clients and verifiers a learner might write, each with the behaviours it must lose and why.

``CLIENTS`` and ``VERIFIERS`` map a name to (the answer, {behaviour: a fragment of its message}); every behaviour
not named must pass. Right answers lose nothing.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.parse
import urllib.request

import jwt
import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

# --- clients ------------------------------------------------------------------------------------------------------

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _Answer:
    """What urllib gives back, as a response: its status and its JSON."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self._body = status, body

    def json(self):
        return json.loads(self._body)


class UrllibClient:
    """urllib, logs in in __init__ (PermissionError on a refused password), a Condition guards renewing."""

    def __init__(self, base_url, username, password):
        self.base_url, self.username, self.password = base_url, username, password
        self.renewing = threading.Condition()
        self.access = self.refresh = None
        self._grant(grant_type="password", username=username, password=password)

    def _post(self, form: dict) -> tuple[int, dict]:
        data = urllib.parse.urlencode(form).encode()
        try:
            with _NO_PROXY.open(self.base_url + "/oauth/token", data=data, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as refused:
            return refused.code, json.load(refused)

    def _grant(self, **form) -> bool:
        status, body = self._post(form)
        if status != 200:
            if form["grant_type"] == "password":
                raise PermissionError(body.get("error_description"))
            return False
        self.access, self.refresh = body["access_token"], body["refresh_token"]
        return True

    def _call(self, path: str, token: str) -> _Answer:
        request = urllib.request.Request(self.base_url + path, headers={"Authorization": f"Bearer {token}"})
        try:
            with _NO_PROXY.open(request, timeout=10) as r:
                return _Answer(r.status, r.read())
        except urllib.error.HTTPError as refused:
            return _Answer(refused.code, refused.read())

    def get(self, path):
        token = self.access
        r = self._call(path, token)
        if r.status != 401:
            return r
        with self.renewing:
            if self.access == token:  # nobody renewed while we waited
                if not self._grant(grant_type="refresh_token", refresh_token=self.refresh):
                    self._grant(grant_type="password", username=self.username, password=self.password)
        return self._call(path, self.access)


class SessionClient:
    """requests, lazily logged in, an RLock, renew and retry in a loop of at most two tries."""

    def __init__(self, base_url, username, password):
        self.base_url, self.credentials = base_url, {"username": username, "password": password}
        self.http = requests.Session()
        self.http.trust_env = False
        self.lock = threading.RLock()
        self.tokens: dict = {}

    def _token(self, **form):
        return self.http.post(self.base_url + "/oauth/token", data=form, timeout=10)

    def _renew(self, stale):
        with self.lock:
            if self.tokens.get("access_token") != stale:
                return
            r = None
            if "refresh_token" in self.tokens:
                r = self._token(grant_type="refresh_token", refresh_token=self.tokens["refresh_token"])
            if r is None or r.status_code != 200:
                r = self._token(grant_type="password", **self.credentials)
                if r.status_code != 200:
                    raise RuntimeError(f"login refused: {r.json()['error_description']}")
            self.tokens = r.json()

    def get(self, path):
        if not self.tokens:
            self._renew(None)
        for _attempt in range(2):
            token = self.tokens["access_token"]
            r = self.http.get(self.base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            if r.status_code != 401:
                break
            self._renew(token)
        return r


def _client(**changes):
    """A SessionClient with some methods replaced: the mistakes below."""
    return type("TokenClient", (SessionClient,), changes)


def _renew_without_lock(self, stale):
    r = None
    if "refresh_token" in self.tokens:
        r = self._token(grant_type="refresh_token", refresh_token=self.tokens["refresh_token"])
    if r is None or r.status_code != 200:
        r = self._token(grant_type="password", **self.credentials)
        r.raise_for_status()
    self.tokens = r.json()


class _GenerationClient(SessionClient):
    """Right: a generation counter says whether another caller renewed since this one read its token."""

    def __init__(self, *args):
        super().__init__(*args)
        self.generation = 0

    def get(self, path):
        with self.lock:
            if not self.tokens:
                SessionClient._renew(self, None)
                self.generation += 1
            token, seen = self.tokens["access_token"], self.generation
        r = self.http.get(self.base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        if r.status_code != 401:
            return r
        with self.lock:
            if self.generation == seen:  # nobody renewed since: this caller does
                SessionClient._renew(self, token)
                self.generation += 1
            token = self.tokens["access_token"]
        return self.http.get(self.base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _renew_under_a_lock_without_asking(self, stale):
    with self.lock:  # the lock is there, but no "already renewed?": every racing caller refreshes in turn
        _renew_without_lock(self, stale)


def _renew_by_password(self, stale):
    with self.lock:
        if self.tokens.get("access_token") == stale:
            r = self._token(grant_type="password", **self.credentials)
            r.raise_for_status()
            self.tokens = r.json()


def _renew_until_it_works(self, stale):
    with self.lock:
        while True:
            r = self._token(grant_type="refresh_token", refresh_token=self.tokens.get("refresh_token", "-"))
            if r.status_code == 200:
                self.tokens = r.json()
                return
            if "refresh_token" not in self.tokens:
                r = self._token(grant_type="password", **self.credentials)
                if r.status_code == 200:
                    self.tokens = r.json()
                    return


def _renew_keeping_the_first_refresh_token(self, stale):
    with self.lock:
        if self.tokens.get("access_token") != stale:
            return
        first = self.tokens.get("refresh_token")
        SessionClient._renew(self, stale)
        if first:
            self.tokens["refresh_token"] = first


def _renew_without_password_fallback(self, stale):
    with self.lock:
        if self.tokens.get("access_token") != stale:
            return
        form = ({"grant_type": "refresh_token", "refresh_token": self.tokens["refresh_token"]}
                if "refresh_token" in self.tokens else {"grant_type": "password", **self.credentials})
        r = self._token(**form)
        r.raise_for_status()
        self.tokens = r.json()


def _get_holding_a_plain_lock(self, path):
    with self.lock:
        return SessionClient.get(self, path)


class _PlainLock(SessionClient):
    def __init__(self, *args):
        super().__init__(*args)
        self.lock = threading.Lock()


def _get_logging_in_every_call(self, path):
    self.tokens = {}
    return SessionClient.get(self, path)


def _get_refreshing_every_call(self, path):
    if self.tokens:
        SessionClient._renew(self, self.tokens["access_token"])
    return SessionClient.get(self, path)


def _retries_a_refused_password(self, stale):
    with self.lock:
        r = self._token(grant_type="password", **self.credentials)
        while r.status_code != 200:
            r = self._token(grant_type="password", **self.credentials)
        self.tokens = r.json()


CLIENTS = {
    "urllib, login in __init__, PermissionError, a Condition": (UrllibClient, {}),
    "requests, lazy login, an RLock, two tries": (SessionClient, {}),
    "no lock": (_client(_renew=_renew_without_lock), {"race": "spent the same refresh token twice"}),
    "requests, a generation counter": (_GenerationClient, {}),
    "a lock, but no 'already renewed?' inside it": (_client(_renew=_renew_under_a_lock_without_asking), {
        "race": "2 calls at once after one expiry made 2 refreshes at the server, one after another"}),
    "never refreshes: logs in again on every 401": (_client(_renew=_renew_by_password), {
        "expiries": "logged in 4 times with the password",
        "race": "made 1 new password logins and 0 refreshes",
        "recovery": "the server saw 2 logins and 0 refreshes"}),
    "renews until it works": (_client(_renew=_renew_until_it_works), {
        "race": "2 calls at once after one expiry made 2 refreshes at the server",  # no "already renewed?" either
        "recovery": "after its login was revoked kept asking the token endpoint, more than 25 times: a loop",
        "gives-up": "with a wrong password kept asking the token endpoint, more than 25 times: a loop"}),
    "keeps its first refresh token": (_client(_renew=_renew_keeping_the_first_refresh_token), {
        "expiries": "presented a refresh token twice"}),
    "no password login after a refused refresh": (_client(_renew=_renew_without_password_fallback), {
        "recovery": "HTTPError"}),
    "a plain Lock taken twice": (type("TokenClient", (_PlainLock,), {"get": _get_holding_a_plain_lock}), {
        b: "did not return within" for b in ("login", "expiries", "race", "recovery", "gives-up")}),
    "logs in on every call": (_client(get=_get_logging_in_every_call), {
        "expiries": "logged in", "race": "new password logins", "recovery": "logins"}),
    "refreshes on every call": (_client(get=_get_refreshing_every_call), {}),  # one visible call: hidden only
    "retries a refused password": (_client(_renew=_retries_a_refused_password), {
        "gives-up": "kept asking the token endpoint, more than 25 times: a loop",
        "expiries": "logged in", "race": "new password logins", "recovery": "logins"}),
}

# --- verifiers ----------------------------------------------------------------------------------------------------


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_by_hand(token, now, jwks, issuer, audience):
    """RS256 checked with cryptography itself, claims by hand, a leeway of 60 s."""
    if "=" in token or token.count(".") != 2:
        raise ValueError("malformed")
    head, body, signature = token.split(".")
    header = json.loads(_b64(head))
    if header.get("alg") != "RS256" or str(header.get("typ", "")).lower().removeprefix("application/") != "at+jwt":
        raise ValueError("not an RS256 access token")
    jwk = next((k for k in jwks["keys"] if k["kid"] == header.get("kid")), None)
    if jwk is None:
        raise ValueError("unknown key")
    key = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
    try:
        key.verify(_b64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise ValueError("bad signature") from None
    claims = json.loads(_b64(body))
    aud = claims.get("aud")
    if claims.get("iss") != issuer or audience not in (aud if isinstance(aud, list) else [aud]):
        raise ValueError("not for us")
    if not isinstance(claims.get("exp"), (int, float)) or now >= claims["exp"] + 60:
        raise ValueError("expired")
    return claims


def _key_from_header(header: dict, jwks: dict, believed: str):
    """The mistake of believing the token about its key: an x5c certificate, or a JWK Set at its jku URL."""
    if believed == "x5c" and "x5c" in header:
        return x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0])).public_key()
    if believed == "jku" and "jku" in header:
        with _NO_PROXY.open(header["jku"], timeout=10) as answer:
            jwks = json.load(answer)
    return jwt.PyJWKSet.from_dict(jwks)[header["kid"]].key


def _pyjwt(token, now, jwks, issuer, audience, *, typ="media", leeway=0, require_exp=True, strict=False,
           signature=True, alg_from_header=False, believed_header=None):
    if "=" in token:
        raise jwt.DecodeError("padded")
    header = jwt.get_unverified_header(token)
    typ_value = str(header.get("typ", ""))
    if typ == "media" and typ_value.lower().removeprefix("application/") != "at+jwt":
        raise jwt.InvalidTokenError("not an access token")
    if typ == "exact" and typ_value != "at+jwt":
        raise jwt.InvalidTokenError("not an access token")
    key = _key_from_header(header, jwks, believed_header) if believed_header else jwt.PyJWKSet.from_dict(jwks)[header["kid"]].key
    claims = jwt.decode(token, key, algorithms=[header["alg"]] if alg_from_header else ["RS256"],
                        audience=audience, issuer=issuer,
                        options={"require": ["exp", "iss", "aud"] if require_exp else ["iss", "aud"],
                                 "verify_exp": False, "verify_iat": False, "verify_signature": signature})
    if "exp" in claims or require_exp:
        if (now > claims["exp"] + leeway) if strict else (now >= claims["exp"] + leeway):
            raise jwt.ExpiredSignatureError("expired")
    return claims


def _variant(**options):
    def verify(token, now, jwks, issuer, audience):
        return _pyjwt(token, now, jwks, issuer, audience, **options)
    return verify


def _slip(*, typ_ok=None, aud_ok=None, iss_ok=None, algorithms=("RS256",), expired=None, refuse_with=None):
    """The PyJWT verifier but for one slip: a typ, aud or iss test, an allow-list, an expiry test, or what it
    does instead of raising."""
    def verify(token, now, jwks, issuer, audience):
        try:
            if "=" in token:
                raise jwt.DecodeError("padded")
            header = jwt.get_unverified_header(token)
            if not (typ_ok or (lambda t: str(t or "").lower().removeprefix("application/") == "at+jwt"))(
                    header.get("typ")):
                raise jwt.InvalidTokenError("not an access token")
            claims = jwt.decode(token, jwt.PyJWKSet.from_dict(jwks)[header["kid"]].key,
                                algorithms=algorithms if isinstance(algorithms, str) else list(algorithms),
                                audience=None if aud_ok else audience, issuer=None if iss_ok else issuer,
                                options={"require": ["exp"], "verify_exp": False, "verify_iat": False,
                                         "verify_aud": not aud_ok, "verify_iss": not iss_ok})
            if aud_ok and not aud_ok(claims, audience):
                raise jwt.InvalidAudienceError("not for us")
            if iss_ok and not iss_ok(claims, issuer):
                raise jwt.InvalidIssuerError("another issuer")
            if (expired or (lambda n, exp: n >= exp))(now, claims["exp"]):
                raise jwt.ExpiredSignatureError("expired")
            return claims
        except Exception:
            if refuse_with == "raise" or refuse_with is None:
                raise
            return refuse_with()
    return verify


_EVERY_REFUSAL = ("alg-none", "algorithm", "keys", "expiry", "audience", "issuer", "typ", "format")


VERIFIERS = {
    "RS256 by hand with cryptography, 60 s of leeway": (verify_by_hand, {}),
    "PyJWT, typ as a media type, 60 s of leeway": (_variant(leeway=60), {}),
    "never checks the signature": (_variant(signature=False), {
        b: "does not check the signature" for b in ("genuine", "expiry", "audience", "issuer", "typ", "keys")} | {
        "alg-none": 'accepted a token with alg "none"', "algorithm": "accepted an HS256 token",
        "format": "accepted alice's token with roles changed"}),
    "takes the algorithm from the header": (_variant(alg_from_header=True), {
        "alg-none": "let PyJWT accept ['none']",
        "algorithm": "algorithms=['HS256'] for a token whose header says alg 'HS256': the token chose"}),
    # A fixed allow-list loses the algorithm behaviour only, told what it allows; alg none is still refused.
    "a fixed allow-list of RS256 and HS256": (_slip(algorithms=("RS256", "HS256")), {
        "algorithm": "fixed allow-list algorithms=['RS256', 'HS256'], which allows ['HS256'] besides RS256"}),
    "algorithms as a string": (_slip(algorithms="RS256"), {"algorithm": "a string: pass a list"}),
    "returns None instead of raising": (_slip(refuse_with=lambda: None), {
        b: "return the claims or raise; yours returned None" for b in ("genuine", *_EVERY_REFUSAL)}),
    "returns {} instead of raising": (_slip(refuse_with=dict), {
        b: "return the claims or raise; yours returned {}" for b in ("genuine", *_EVERY_REFUSAL)}),
    # Near misses, graded with the hidden cases (HIDDEN_ONLY).
    "typ checked only when present": (_slip(
        typ_ok=lambda t: t is None or t.lower().removeprefix("application/") == "at+jwt"), {}),
    "typ as a substring": (_slip(typ_ok=lambda t: "at+jwt" in str(t).lower()), {}),
    "aud as a substring": (_slip(aud_ok=lambda c, audience: audience in str(c.get("aud"))), {}),
    "iss with startswith": (_slip(iss_ok=lambda c, issuer: str(c.get("iss")).startswith(issuer)), {}),
    "60 s of leeway taken from exp": (_slip(expired=lambda n, exp: n + 60 >= exp), {}),
    "checks exp only when present": (_variant(require_exp=False), {}),  # visible cases: only the hidden one fails
    "two minutes of leeway": (_variant(leeway=120), {"expiry": "60 s after its exp"}),
    "60 s of leeway compared with >": (_variant(leeway=60, strict=True), {"expiry": "now >= exp + leeway"}),
    "typ compared exactly": (_variant(typ="exact"), {"typ": 'refused a genuine token whose header says typ '
                                                           '"application/at+jwt"'}),
    "never checks typ": (_variant(typ=None), {"typ": 'accepted a token with typ "JWT"'}),
    # Visible cases: only jwk, so these two lose their points to the hidden cases alone.
    "believes a certificate in x5c": (_variant(believed_header="x5c"), {}),
    "fetches the JWK Set jku names": (_variant(believed_header="jku"), {}),
}
# Mistakes only the hidden cases show (more calls, a token without exp): {name: {behaviour: fragment}}.
HIDDEN_ONLY = {"checks exp only when present": {"expiry": "a token without exp"},
               "typ checked only when present": {"typ": "a token without typ"},
               "typ as a substring": {"typ": 'whose typ is "not-at+jwt": compare typ whole'},
               "aud as a substring": {"audience": "for aud 'lab-api-staging': compare aud whole"},
               "iss with startswith": {"issuer": "startswith accepts any issuer that begins with yours"},
               "60 s of leeway taken from exp": {"genuine": "added to exp, never taken from it"},
               "believes a certificate in x5c": {"keys": "the certificate its own x5c header carries"},
               "fetches the JWK Set jku names": {"keys": "jku header points to the attacker's JWK Set"},
               "refreshes on every call": {"login": "refreshed while its access token was still good"},
               "keeps its first refresh token": {"recovery": "the next expiry should be a refresh of the new login"}}
