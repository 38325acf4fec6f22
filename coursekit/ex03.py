"""Exercises of notebook 03, the anatomy of a token: decode, sign, forge, verify with a public key.

Each check runs the learner's code on fresh inputs or sends the learner's token to the lab server,
so it tests what the code does, not how it is written.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import random
import string
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from coursekit.client import bearer, log_in
from coursekit.exercise import Exercise, Incorrect, numbered, require_function
from coursekit.tokenview import decode_segment, split_token
from labserver.tokens import REQUIRED_CLAIMS

__all__ = ["q1", "q2", "q3", "q4", "RFC7515_A1"]

# RFC 7515 Appendix A.1: the spec's own HS256 example, byte for byte (note the CRLFs and spaces).
RFC7515_A1 = {
    "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    "header": b'{"typ":"JWT",\r\n "alg":"HS256"}',
    "payload": b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}',
    "signature": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_json(value: Any) -> str:
    return _b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


# --- q1: decode the payload by hand ---------------------------------------------------------------

_TEXT = string.ascii_letters + string.digits + "?>~üé€ "


def _hs256_token(payload: dict, rng: random.Random) -> tuple[str, str]:
    """A real HS256 token for the payload, signed with a throwaway key; returns (token, payload segment)."""
    signing_input = _b64url_json({"alg": "HS256", "typ": "JWT"}) + "." + _b64url_json(payload)
    mac = hmac.new(rng.randbytes(32), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(mac)}", signing_input.split(".")[1]


def _fresh_payload(rng: random.Random) -> dict:
    text = "".join(rng.choice(_TEXT) for _ in range(rng.randrange(3, 30)))
    iat = rng.randrange(1_700_000_000, 2_000_000_000)
    return {"sub": str(rng.randrange(1, 10_000)), "note": text, "iat": iat, "exp": iat + 1800}


def _fresh_tokens(rng: random.Random) -> dict[str, tuple[str, dict]]:
    """Fresh tokens named by what they test: '=' padding needed (1 or 2), and the '-' and '_' characters."""
    wanted = {"padding1": None, "padding2": None, "url-safe": None}
    for _ in range(10_000):
        payload = _fresh_payload(rng)
        token, segment = _hs256_token(payload, rng)
        plain = not set("-_") & set(segment)
        kind = {3: "padding1", 2: "padding2"}.get(len(segment) % 4) if plain else None
        if len(segment) % 4 == 0 and {"-", "_"} <= set(segment):
            kind = "url-safe"
        if kind and wanted[kind] is None:
            wanted[kind] = (token, payload)
        if all(wanted.values()):
            break
    return {kind: pair for kind, pair in wanted.items() if pair}


def _describe_wrong_payload(result: Any, expected: dict, header: dict) -> str | None:
    """What is wrong with the learner's result, or None if it is the payload."""
    if isinstance(result, dict) and result == expected:
        return None
    if isinstance(result, (bytes, bytearray)):
        return ("your function returns bytes (the payload's JSON text, still undecoded): "
                "json.loads() them to get a dict")
    if isinstance(result, str):
        if result.lstrip().startswith("{"):
            return "your function returns the JSON text as a str: json.loads() it to get a dict"
        return ("your function returns a str that is not JSON: is it the segment itself, still base64url? "
                "Decode it with base64.urlsafe_b64decode, then json.loads()")
    if not isinstance(result, dict):
        return f"your function returns {type(result).__name__}; it should return the payload as a dict"
    if result == header or ("alg" in result and "alg" not in expected):
        return ("your dict has an 'alg' key: that is the header, the FIRST segment; "
                "the payload is the middle one, token.split('.')[1]")
    missing = sorted(set(expected) - set(result))
    if missing:
        return f"your dict has no {', '.join(map(repr, missing))} key: the payload has {sorted(expected)}"
    changed = sorted(k for k in expected if result.get(k) != expected[k])
    if changed:
        return f"your dict's value for {changed[0]!r} differs from the payload's"
    return f"your dict has extra keys: {sorted(set(result) - set(expected))}"


class DecodePayload(Exercise):
    title = "Decode the payload by hand"
    _hints = [
        "A JWT is header.payload.signature: the payload is token.split('.')[1].",
        "JWTs drop base64's '=' padding; put it back with segment + '=' * (-len(segment) % 4), then "
        "base64.urlsafe_b64decode() it (the URL-safe alphabet uses '-' and '_').",
        "The decoded bytes are JSON text: json.loads() turns them into a dict.",
    ]
    _solution = '''
def decode_payload(token: str) -> dict:
    segment = token.split(".")[1]
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return json.loads(raw)
'''

    def _check(self, decode_payload: Any, token: str) -> str:
        fn = require_function(decode_payload, "decode_payload")
        header_b64, payload_b64, _ = split_token(token)
        header = json.loads(decode_segment(header_b64))
        # The fresh tokens first: each tests one thing (padding, the URL-safe alphabet), so a failure says which.
        cases = _fresh_tokens(random.Random())
        cases["the lab token"] = (token, json.loads(decode_segment(payload_b64)))
        for kind, (sample, expected) in cases.items():
            try:
                result = fn(sample)
            except (binascii.Error, ValueError, UnicodeDecodeError) as error:
                raise Incorrect(self._explain_error(kind, error)) from None
            problem = _describe_wrong_payload(result, expected, header)
            if problem and kind == "url-safe":
                problem = (f"your function decodes other payloads but gets one wrong {self._kind(kind)}: use "
                           "base64.urlsafe_b64decode (b64decode expects '+' and '/' and skips '-' and '_')")
            if problem:
                raise Incorrect(problem)
        return (f"your function decodes the lab token and {len(cases) - 1} fresh ones, whose payloads need "
                "one or two '=' of padding or use '-' and '_'. No key was needed: anyone can do this.")

    @staticmethod
    def _kind(kind: str) -> str:
        return {"padding1": "whose payload segment needs one '=' of padding",
                "padding2": "whose payload segment needs two '=' of padding",
                "url-safe": "whose payload segment contains '-' and '_'"}.get(kind, kind)

    def _explain_error(self, kind: str, error: Exception) -> str:
        name = "binascii.Error" if type(error) is binascii.Error else type(error).__name__
        text = f"{name}: {error}"
        if kind == "url-safe":
            return (f"your function raised {text} on a token {self._kind(kind)}: use "
                    "base64.urlsafe_b64decode (b64decode expects '+' and '/' and skips '-' and '_')")
        if "padding" in str(error).lower():
            return (f"your function raised {text}. JWTs leave out base64's '=' padding: add "
                    "'=' * (-len(segment) % 4) to the segment before decoding it")
        if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError)):
            return (f"your function raised {text}: the bytes you decoded are not JSON text. Decode the "
                    "middle segment, with base64.urlsafe_b64decode (the URL-safe alphabet)")
        where = "on the lab token" if kind == "the lab token" else f"on a fresh token {self._kind(kind)}"
        return f"your function raised {text} {where}"


# --- q2: compute an HS256 signature ---------------------------------------------------------------

def _reference_sign(signing_input: bytes, key: bytes) -> str:
    return _b64url(hmac.new(key, signing_input, hashlib.sha256).digest())


def _diagnose_signature(result: Any, signing_input: bytes, key: bytes) -> str:
    """Why the learner's signature for these inputs is not the reference one."""
    mac = hmac.new(key, signing_input, hashlib.sha256).digest()
    if isinstance(result, (bytes, bytearray)):
        if bytes(result) == mac:
            return ("sign() returns the 32 raw HMAC bytes: a JWS signature is their base64url text "
                    "(base64.urlsafe_b64encode, '=' stripped, decoded to str)")
        return "sign() returns bytes: return a str (bytes.decode('ascii'))"
    if not isinstance(result, str):
        return f"sign() returns {type(result).__name__}; it should return the signature as a str"
    if result == mac.hex():
        return "sign() returns the hex digest: a JWS signature is base64url of the raw bytes (.digest())"
    if result == base64.urlsafe_b64encode(mac).decode():
        return "sign() keeps the '=' padding: base64url in a JWS has none, strip it with .rstrip('=')"
    if result.rstrip("=") == base64.b64encode(mac).decode().rstrip("="):
        return ("sign() uses the standard base64 alphabet ('+' and '/'): use base64.urlsafe_b64encode, "
                "which writes '-' and '_'")
    if result == _b64url(hmac.new(signing_input, key, hashlib.sha256).digest()):
        return "sign() swaps the key and the message: hmac.new(key, signing_input, hashlib.sha256)"
    if result in (_b64url(hashlib.sha256(key + signing_input).digest()),
                  _b64url(hashlib.sha256(signing_input).digest())):
        return "sign() computes a plain SHA-256 hash, which anyone can compute: use hmac.new(key, ...)"
    try:
        size = len(decode_segment(result))
    except ValueError:
        return "sign() returns text that is not base64url"
    if size != 32:
        return f"sign() returns {size} bytes of MAC; HMAC-SHA256 gives 32: use hashlib.sha256"
    return "sign() returns a 32-byte value that is not HMAC-SHA256(key, signing_input)"


class ComputeSignature(Exercise):
    title = "Compute an HS256 signature"
    _hints = [
        "HS256 is HMAC with SHA-256: hmac.new(key, signing_input, hashlib.sha256).digest() gives 32 bytes.",
        "The signature segment is those bytes in base64url: base64.urlsafe_b64encode(mac).",
        "JWS leaves out the '=' padding and the token is text: .rstrip(b'=').decode('ascii').",
    ]
    _solution = '''
def sign(signing_input: bytes, key: bytes) -> str:
    mac = hmac.new(key, signing_input, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
'''

    def _check(self, sign: Any) -> str:
        fn = require_function(sign, "sign")
        rng = random.Random()
        cases = []
        for key_size in (32, 33, 48, 64, 65, 100):  # past 64 bytes, HMAC hashes the key first
            header_b64, payload_b64 = (_b64url(rng.randbytes(rng.randrange(10, 200))) for _ in "hp")
            cases.append((f"{header_b64}.{payload_b64}".encode("ascii"), rng.randbytes(key_size)))
        for signing_input, key in cases:
            try:
                result = fn(signing_input, key)
            except Exception as error:
                raise Incorrect(f"sign() raised {type(error).__name__}: {error} (note that signing_input "
                                "and key are bytes already)") from None
            if result != _reference_sign(signing_input, key):
                raise Incorrect(_diagnose_signature(result, signing_input, key)
                                + f" (on fresh random inputs: a {len(key)}-byte key)")
        a1 = RFC7515_A1
        a1_input = f"{_b64url(a1['header'])}.{_b64url(a1['payload'])}".encode("ascii")
        try:
            a1_result = fn(a1_input, decode_segment(a1["k"]))
        except Exception as error:
            raise Incorrect(f"sign() raised {type(error).__name__}: {error} on RFC 7515 Appendix A.1") from None
        if a1_result != a1["signature"]:
            raise Incorrect(f"sign() matches HMAC on random inputs but gives {a1_result!r} on RFC 7515 "
                            f"Appendix A.1, which expects {a1['signature']!r}")
        return (f"sign() agrees with HMAC-SHA256 on {len(cases)} fresh random inputs and reproduces "
                f"RFC 7515 Appendix A.1: {a1['signature']}")


# --- q3: forge an admin token ---------------------------------------------------------------------

def _json_segment(segment: str, name: str) -> Any:
    try:
        return json.loads(decode_segment(segment))
    except (ValueError, UnicodeDecodeError):
        raise Incorrect(f"the {name} segment is not base64url-encoded JSON: encode your dict with "
                        "json.dumps, then base64url without '=' padding (or let jwt.encode do it)") from None


class ForgeAdminToken(Exercise):
    title = "Forge an admin token"
    _hints = [
        "Start from alice's claims: {**payload, 'roles': ['admin']}.",
        "Sign them with any key you guess: jwt.encode(claims, key, algorithm='HS256', headers=...). "
        "Use a key of 32 bytes or more, or PyJWT warns that it is too short.",
        "Copy alice's header values, so that only the signature is wrong: "
        "headers={'kid': header['kid'], 'typ': 'at+jwt'}.",
    ]
    _solution = '''
claims = {**payload, "roles": ["admin"]}
forged = jwt.encode(claims, b"my-best-guess-at-the-lab-secret-0123", algorithm="HS256",
                    headers={"kid": header["kid"], "typ": "at+jwt"})
'''

    def _check(self, forged: Any, lab: Any) -> str:
        if isinstance(forged, (bytes, bytearray)):
            raise Incorrect("forged is bytes: a token is text; .decode('ascii') it")
        if not isinstance(forged, str):
            raise Incorrect(f"forged is {type(forged).__name__}; it should be the token, a str")
        try:
            header_b64, payload_b64, _ = split_token(forged)
        except ValueError as error:
            raise Incorrect(f"forged is not a JWS: {error}") from None
        header = _json_segment(header_b64, "header")
        claims = _json_segment(payload_b64, "payload")
        if not isinstance(claims, dict):
            raise Incorrect("the payload should be a JSON object (a dict of claims)")
        roles = claims.get("roles")
        if not isinstance(roles, list) or "admin" not in roles:
            raise Incorrect(f"your token's payload has \"roles\": {json.dumps(roles)}; a forged admin token "
                            "claims \"roles\": [\"admin\"]")
        missing = [name for name in REQUIRED_CLAIMS if name not in claims]
        if missing:
            raise Incorrect(f"your token's payload is missing {', '.join(map(repr, missing))}: a convincing "
                            "forgery carries every claim the server requires. Start from alice's claims "
                            "and change only roles")
        response = lab.http.get(lab.url + "/api/admin", headers=bearer(forged.strip()), timeout=10)
        if response.status_code == 200:
            raise Incorrect("the server accepted this token: it is a genuine admin token (did you log in as "
                            "admin?). Forge one instead: alice's claims, roles changed, your own signature")
        description = response.json().get("error_description", "")
        if response.status_code != 401:
            raise Incorrect(f"the server answered {response.status_code} ({description}), not 401")
        alg = header.get("alg") if isinstance(header, dict) else None
        if description == "signature is invalid":
            return ("401 invalid_token, 'signature is invalid': the server recomputed the HMAC of your header "
                    "and payload with its own secret, and it did not match your signature. Without the "
                    "secret, no edit to the claims survives.")
        if description.startswith("algorithm must be"):
            return (f"401 invalid_token, '{description}': your token says alg {alg!r}, and the server never "
                    "lets a token choose its own algorithm (RFC 8725 §3.1).")
        if description == "token is malformed":
            raise Incorrect("the server could not even parse your token ('token is malformed'): each segment "
                            "is base64url without '=' padding, and the payload is a JSON object")
        raise Incorrect(f"the server rejected it, but because '{description}', not because of the "
                        "signature: keep alice's header (kid, typ) and claims and change only roles, so "
                        "that the one thing you cannot fake is the only thing wrong")


# --- q4: verify with the public key alone ----------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _attacker_key() -> rsa.RSAPrivateKey:
    """An RSA key the server has never seen, made once per process."""
    return rsa.generate_private_key(65537, 2048)


def _server_signing_key(lab: Any, kid: str) -> Any:
    """The lab's private key with this kid, read from its key file (lab only: a checker's privilege)."""
    with open(lab.keys_path) as f:
        jwk = next(j for j in json.load(f)["keys"] if j["kid"] == kid)
    return jwt.PyJWK({k: v for k, v in jwk.items() if not k.startswith("lab_")}).key


class VerifyWithPublicKey(Exercise):
    title = "Verify a token with the public key alone"
    _hints = [
        "jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token) fetches the JWKS and picks the key "
        "whose kid is in the token's header.",
        "jwt.decode(token, key, algorithms=['RS256'], audience='lab-api', options=LAB_CLOCK): the "
        "algorithm and the audience are yours to pin, never the token's to choose.",
        "PyJWT compares exp and iat with your computer's clock; the lab runs on its own clock, so turn "
        "PyJWT's time checks off with the LAB_CLOCK options defined above.",
    ]
    _solution = '''
def verify(token: str, jwks_url: str) -> dict:
    key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
    return jwt.decode(token, key, algorithms=["RS256"], audience="lab-api", options=LAB_CLOCK)
'''

    def _check(self, verify: Any, lab: Any) -> str:
        fn = require_function(verify, "verify")
        jwks_url = lab.url + "/.well-known/jwks.json"
        token = log_in(lab, "alice")["access_token"]
        header_b64, payload_b64, signature_b64 = token.split(".")
        header, claims = json.loads(decode_segment(header_b64)), json.loads(decode_segment(payload_b64))

        try:
            result = fn(token, jwks_url)
        except Exception as error:
            raise Incorrect(self._explain_rejection(error)) from None
        if not isinstance(result, dict):
            raise Incorrect(f"verify() returned {type(result).__name__} for a valid token; return the "
                            "claims jwt.decode gives you (a dict)")
        if result != claims:
            raise Incorrect("verify() returned a dict that is not the token's claims: return what jwt.decode "
                            "gives you")

        alg = header["alg"]
        server_key = _server_signing_key(lab, header["kid"])
        attacker = _attacker_key()
        attacker_jwk = RSAAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
        bad_tokens = {
            "a token whose payload was changed after signing (roles: admin)": (
                f"{header_b64}.{_b64url_json({**claims, 'roles': ['admin']})}.{signature_b64}",
                "do you verify the signature? Never pass verify_signature: False"),
            "an unsigned token (alg: none)": (
                f"{_b64url_json({**header, 'alg': 'none'})}.{payload_b64}.",
                f"pin the algorithm: algorithms=[{alg!r}], never the token's own alg"),
            "a token signed by the server's key but meant for another audience": (
                jwt.encode({**claims, "aud": "another-api"}, server_key, algorithm=alg,
                           headers={"kid": header["kid"], "typ": header["typ"]}),
                f"pin the audience: audience={claims['aud']!r}"),
            "a token signed by a stranger's RSA key, carrying that key in its header": (
                jwt.encode({**claims, "roles": ["admin"]}, attacker, algorithm="RS256",
                           headers={"kid": header["kid"], "typ": header["typ"], "jwk": attacker_jwk}),
                "take the key from the server's JWKS (by kid), never from the token itself"),
        }
        for what, (bad, advice) in bad_tokens.items():
            try:
                fn(bad, jwks_url)
            except Exception:
                continue
            raise Incorrect(f"verify() accepted {what}: {advice}")
        return (f"verify() accepted the real token and refused {len(bad_tokens)} bad ones (tampered payload, "
                "alg none, another audience, a stranger's key) with nothing but the server's public JWKS.")

    @staticmethod
    def _explain_rejection(error: Exception) -> str:
        text = f"verify() rejected a valid token: {type(error).__name__}: {error}"
        if isinstance(error, (jwt.ImmatureSignatureError, jwt.ExpiredSignatureError)):
            return (f"{text}. PyJWT compared the token's times with your computer's clock, but the lab runs "
                    "on its own clock: pass options=LAB_CLOCK to turn PyJWT's time checks off")
        if isinstance(error, jwt.InvalidAudienceError):
            return f"{text}. The token's aud is 'lab-api': pass audience='lab-api' to jwt.decode"
        if isinstance(error, jwt.InvalidAlgorithmError):
            return f"{text}. This server signs with RS256: algorithms=['RS256']"
        if isinstance(error, jwt.PyJWKClientError):
            return f"{text}. Fetch the keys from jwks_url and pick the one whose kid is in the token's header"
        return text


q1, q2, q3, q4 = numbered(DecodePayload(), ComputeSignature(), ForgeAdminToken(), VerifyWithPublicKey())
