"""Exercises of notebook 03, the anatomy of a token: decode it, sign it, verify it properly at the lab's time.

Each check runs the learner's code on fresh inputs, or on tokens from a lab server of its own whose answer
it reports, so it tests what the code does. One exception, said where it happens: the verifier's check also
looks at the algorithms the learner's code hands PyJWT, because PyJWT hides a token-chosen one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import random
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

from coursekit.labtools.attacks import b64url, b64url_json, serve_jwks
from coursekit.labtools.client import bearer, http_session, lab_time, log_in
from coursekit.kit.exercise import Exercise, Incorrect, numbered, require_function
from coursekit.labtools.lab import fresh_lab
from coursekit.labtools.verifier_probes import (LEEWAY_LIMIT, RETURNED_NOTHING, TYP_IS_A_MEDIA_TYPE, TYP_SPELLINGS,
                                                algorithms_given_to_pyjwt, allow_list_fault, attacker_jwk,
                                                attacker_key, claim_probes, lab_private_key, refused_by_pyjwt_clock,
                                                rs256_labelled)
from coursekit.exercises.judging.fresh_tokens import describe_wrong_payload, fresh_tokens
from coursekit.pictures.tokenview import decode_segment, split_token

__all__ = ["q1", "q2", "q3", "RFC7515_A1"]

# RFC 7515 Appendix A.1: the spec's own HS256 example, byte for byte (note the CRLFs and spaces).
RFC7515_A1 = {
    "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    "header": b'{"typ":"JWT",\r\n "alg":"HS256"}',
    "payload": b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}',
    "signature": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
}


# --- q1: decode the payload by hand ---------------------------------------------------------------

class DecodePayload(Exercise):
    title = "Decode the payload by hand"
    _hints = [
        "A JWT is header.payload.signature: the payload is token.split('.')[1].",
        "JWTs drop base64's '=' padding; put it back with segment + '=' * (-len(segment) % 4), then "
        "base64.urlsafe_b64decode() it (the URL-safe alphabet uses '-' and '_').",
        "The decoded bytes are JSON text: json.loads() turns them into a dict.",
    ]

    def _check(self, decode_payload: Any, token: Any = None) -> str:
        fn = require_function(decode_payload, "decode_payload")
        header_b64, payload_b64 = self._token_argument(token)
        header = json.loads(decode_segment(header_b64))
        # The fresh tokens first: each tests one thing (padding, the URL-safe alphabet), so a failure says which.
        cases = fresh_tokens(random.Random())
        cases["the lab token"] = (token, json.loads(decode_segment(payload_b64)))
        for kind, (sample, expected) in cases.items():
            try:
                result = fn(sample)
            except (binascii.Error, ValueError, UnicodeDecodeError) as error:
                raise Incorrect(self._explain_error(kind, error)) from None
            problem = describe_wrong_payload(result, expected, header)
            if problem and kind == "url-safe":
                problem = (f"your function decodes other payloads but gets one wrong {self._kind(kind)}: use "
                           "base64.urlsafe_b64decode (b64decode expects '+' and '/' and skips '-' and '_')")
            if problem:
                raise Incorrect(problem)
        return (f"your function decodes the lab token and {len(cases) - 1} fresh ones, whose payloads need "
                "one or two '=' of padding or use '-' and '_'. No key was needed: anyone can do this.")

    @staticmethod
    def _token_argument(token: Any) -> tuple[str, str]:
        """The header and payload segments of the token the learner passed, or why it is not one."""
        usage = "q1.check(decode_payload, token), where token is the access token, a str"
        if token is None:
            raise Incorrect(f"check needs the token as well as your function: {usage}")
        if isinstance(token, dict):
            named = " (tokens['access_token'])" if "access_token" in token else ""
            raise Incorrect(f"the second argument of check is a dict, not a token: pass the token itself{named}: "
                            f"{usage}")
        if isinstance(token, (bytes, bytearray)):
            raise Incorrect(f"the second argument of check is bytes: pass the token as a str (.decode('ascii')): "
                            f"{usage}")
        if not isinstance(token, str):
            raise Incorrect(f"the second argument of check is a {type(token).__name__}, not a token: {usage}")
        try:
            header_b64, payload_b64, _ = split_token(token)
            json.loads(decode_segment(header_b64)), json.loads(decode_segment(payload_b64))
        except ValueError as error:  # also JSONDecodeError, UnicodeDecodeError
            raise Incorrect(f"the second argument of check is not a JWT ({error}): {usage}") from None
        return header_b64, payload_b64

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
    return b64url(hmac.new(key, signing_input, hashlib.sha256).digest())


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
    if result == b64url(hmac.new(signing_input, key, hashlib.sha256).digest()):
        return "sign() swaps the key and the message: hmac.new(key, signing_input, hashlib.sha256)"
    if result in (b64url(hashlib.sha256(key + signing_input).digest()),
                  b64url(hashlib.sha256(signing_input).digest())):
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

    def _check(self, sign: Any) -> str:
        fn = require_function(sign, "sign")
        rng = random.Random()
        cases = []
        for key_size in (32, 33, 48, 64, 65, 100):  # past 64 bytes, HMAC hashes the key first
            header_b64, payload_b64 = (b64url(rng.randbytes(rng.randrange(10, 200))) for _ in "hp")
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
        a1_input = f"{b64url(a1['header'])}.{b64url(a1['payload'])}".encode("ascii")
        try:
            a1_result = fn(a1_input, decode_segment(a1["k"]))
        except Exception as error:
            raise Incorrect(f"sign() raised {type(error).__name__}: {error} on RFC 7515 Appendix A.1") from None
        if a1_result != a1["signature"]:
            raise Incorrect(f"sign() matches HMAC on random inputs but gives {a1_result!r} on RFC 7515 "
                            f"Appendix A.1, which expects {a1['signature']!r}")
        return (f"sign() agrees with HMAC-SHA256 on {len(cases)} fresh random inputs and reproduces "
                f"RFC 7515 Appendix A.1: {a1['signature']}")


# --- q3: verify a token properly, at the lab's time -------------------------------------------------

_TO_06 = ("lesson 06, Attacks and defences (06-attacks-and-defences.ipynb), exploits this against a "
          "deliberately flawed lab server, then fixes it")


class VerifyProperly(Exercise):
    title = "Verify a token properly, at the lab's time"
    _hints = [
        "The key: jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token) fetches the JWK Set and picks the "
        "key whose kid is in the token's header. Never take a key, or an algorithm, from the token itself.",
        "jwt.decode_complete(token, key, algorithms=['RS256'], audience='lab-api', issuer=issuer, options=...) "
        "returns the header and the claims; put 'require': [...] in options, and check the header's typ yourself.",
        "PyJWT's time checks read this computer's clock: turn them off in options ('verify_exp': False, "
        "'verify_nbf': False, 'verify_iat': False) and compare with now yourself: a token is valid while "
        "iat <= now, nbf <= now (if it has one) and now < exp. (The course allows a leeway of at most 60 s; none "
        "is needed here.)",
    ]

    def _check(self, verify: Any) -> str:
        fn = require_function(verify, "verify")
        lab = fresh_lab(algorithm="RS256")
        http = http_session()
        jwks_url, issuer = lab.url + "/.well-known/jwks.json", lab.settings.issuer_id
        token = log_in(lab, "alice")["access_token"]
        header_b64, payload_b64, signature_b64 = token.split(".")
        header, claims = json.loads(decode_segment(header_b64)), json.loads(decode_segment(payload_b64))
        iat, exp = claims["iat"], claims["exp"]

        def server_says(candidate: str, at: float) -> str:
            """What the check's own lab server answers to this token at this lab time."""
            lab.clock.set(at)
            r = http.get(lab.url + "/api/me", headers=bearer(candidate), timeout=10)
            return "200, accepted" if r.status_code == 200 else f"{r.status_code} '{r.json()['error_description']}'"

        def call(candidate: str, at: float) -> tuple[Any, Exception | None]:
            try:
                return fn(candidate, jwks_url, issuer, float(at)), None
            except Exception as error:  # refusing is what a verifier does: any exception counts
                return None, error

        with algorithms_given_to_pyjwt() as seen, \
                serve_jwks({"keys": [attacker_jwk(header["kid"])]}) as attacker_jwks_url:
            return self._judge(call, server_says, token, claims, header, lab, issuer, seen, attacker_jwks_url)

    def _judge(self, call, server_says, token, claims, header, lab, issuer, seen, attacker_jwks_url) -> str:
        header_b64, payload_b64, signature_b64 = token.split(".")
        iat, exp = claims["iat"], claims["exp"]
        # 1. The genuine token, at the start and at the last second of its life.
        for at in (iat, exp - 1):
            result, error = call(token, at)
            if error is not None:
                raise Incorrect(self._explain_rejection(error, at, iat, exp))
            if not isinstance(result, dict):
                raise Incorrect(f"verify() returned {type(result).__name__} for a valid token; return the "
                                "verified claims (a dict)")
            if result != claims:
                raise Incorrect("verify() returned a dict that is not the token's claims: return the payload "
                                "PyJWT verified")

        # 2. Forgeries and look-alikes, each refused by the lab server at 09:00.
        server_key = lab_private_key(lab, header["kid"])
        for typ in TYP_SPELLINGS:  # one media type, RFC 7515 §4.1.9
            _, error = call(jwt.encode(claims, server_key, algorithm="RS256", headers={**header, "typ": typ}), iat)
            if error is not None:
                raise Incorrect(f"verify() rejected alice's valid token written with typ \"{typ}\": "
                                f"{type(error).__name__}: {error}. {TYP_IS_A_MEDIA_TYPE}")
        stranger_jwk = RSAAlgorithm.to_jwk((attacker := attacker_key()).public_key(), as_dict=True)

        def by_server(changes: dict | None = None, drop: str = "", **header_changes: Any) -> str:
            payload = {k: v for k, v in {**claims, **(changes or {})}.items() if k != drop}
            return jwt.encode(payload, server_key, algorithm="RS256", headers={**header, **header_changes})

        def by_server_claims(payload: dict, **header_changes: Any) -> str:
            return jwt.encode(payload, server_key, algorithm="RS256", headers={**header, **header_changes})

        admin = {**claims, "roles": ["admin"]}
        forgeries = [
            ("a token whose payload was changed after signing (roles: admin)",
             f"{header_b64}.{b64url_json(admin)}.{signature_b64}",
             "verify the signature: never pass verify_signature: False"),
            ("an unsigned token (alg: none)",
             f"{b64url_json({**header, 'alg': 'none'})}.{b64url_json(admin)}.",
             "pin the algorithm, algorithms=['RS256'], and never accept an unsigned token; " + _TO_06),
            ("a token signed with the server's own RSA key whose header says alg RS512, an algorithm this server "
             "never uses", rs256_labelled("RS512", claims, header, server_key),
             "pin the algorithm, algorithms=['RS256'], whatever the token's header says (RFC 8725 §3.1)"),
            ("a token the server's key signed with RS512, an algorithm this server never uses",
             jwt.encode(claims, server_key, algorithm="RS512", headers={**header, "alg": "RS512"}),
             "pin the algorithm, algorithms=['RS256'], whatever the token's header says (RFC 8725 §3.1)"),
            ("a token signed by a stranger's RSA key that carries that key in its own `jwk` header",
             jwt.encode(admin, attacker, algorithm="RS256", headers={**header, "jwk": stranger_jwk}),
             "a key that arrives in the token proves nothing: whoever made the token chose it. Take keys only "
             "from the server's JWK Set, by kid. This is the `jwk` header attack: " + _TO_06),
            ("a token signed by a stranger's RSA key whose `jku` header points at the stranger's own JWK Set",
             jwt.encode(admin, attacker, algorithm="RS256", headers={**header, "jku": attacker_jwks_url}),
             "the token chose where its key comes from: fetch keys only from jwks_url, the argument, never from "
             "a URL in the token's header (RFC 8725 §3.10). " + _TO_06),
            ("a token signed by the server's key but meant for another audience (aud: another-api)",
             by_server({"aud": "another-api"}), "pin the audience: audience='lab-api' (RFC 8725 §3.9)"),
            ("a token signed by the server's key but from another issuer",
             by_server({"iss": "https://another.jwt-course.test"}),
             "pin the issuer: issuer=issuer, the argument the check passes you (RFC 8725 §3.8)"),
            ("a token signed by the server's key whose typ is JWT, not at+jwt (another kind of token, an ID "
             "token say)", by_server(typ="JWT"),
             "check the header's typ: jwt.decode_complete returns the header (RFC 8725 §3.11, RFC 9068 §2.1)"),
            ("a token signed by the server's key with no exp claim: it would never expire", by_server(drop="exp"),
             "require the claims: options={'require': ['iss', 'sub', 'aud', 'exp', 'iat', 'jti']}"),
            ("a token signed by the server's key with no iat claim", by_server(drop="iat"),
             "require the claims: options={'require': ['iss', 'sub', 'aud', 'exp', 'iat', 'jti']}"),
        ]
        # Near misses a slip accepts (no typ, a typ or aud or iss that only contains the right one, no sub or
        # jti), each signed with the server's own key: the lab server refuses every one.
        forgeries += [(what, bad, advice + (" (the brief: the claims required, sub and jti among them)"
                                            if topic == "claims" else ""))
                      for topic, what, bad, advice in claim_probes(
                          by_server_claims, claims, issuer, "lab-api", required=("sub", "jti"))]
        for what, bad, advice in forgeries:
            result, error = call(bad, iat)
            fault = allow_list_fault(seen)
            if fault is not None:
                raise Incorrect(f"verify() {fault}; " + _TO_06)
            if error is None:
                self._nothing_returned(result, what)
                raise Incorrect(f"verify() accepted {what}; the lab server answers {server_says(bad, iat)}: "
                                f"{advice}")

        # 3. Time, on the lab's clock: the now the check passes in, which the lab server shares.
        later = exp + 3600
        moments = [
            (token, later, f"alice's token at now = {lab_time(later)}, an hour after its exp ({lab_time(exp)})",
             "compare exp with now, the lab's time. Switching PyJWT's time checks off is only half of it; and "
             "PyJWT's own checks read this computer's clock, which a leeway widens both ways but cannot move to "
             "the lab's time"),
            (token, exp + LEEWAY_LIMIT, f"alice's token at now = {lab_time(exp + LEEWAY_LIMIT)}, "
             f"{LEEWAY_LIMIT} s after its exp",
             "a token is valid while now < exp (RFC 7519 §4.1.4: the current time MUST be before exp), so refuse "
             "it when now >= exp + leeway. The course allows a leeway of at most 60 s, and none is needed here: "
             "now is the issuer's own clock"),
            (by_server({"nbf": iat + 600}), iat,
             f"a token signed by the server's key, not valid before {lab_time(iat + 600)} (nbf), at now = "
             f"{lab_time(iat)}", "refuse a token whose nbf is after now (RFC 7519 §4.1.5)"),
            (by_server({"iat": iat + 600}), iat,
             f"a token signed by the server's key, issued at {lab_time(iat + 600)} (iat), at now = {lab_time(iat)}",
             "refuse a token issued after now: iat in the future means a wrong clock or a made-up token"),
        ]
        for candidate, at, what, advice in moments:
            result, error = call(candidate, at)
            if error is None:
                self._nothing_returned(result, what)
                raise Incorrect(f"verify() accepted {what}; at that time the lab server answers "
                                f"{server_says(candidate, at)}: {advice}")
        return ("verify() accepted alice's token from its iat to the last second before its exp, on the lab's "
                f"clock, and refused {len(forgeries) + len(moments)} bad ones: a tampered payload, alg none, "
                "algorithms the server never uses, a stranger's key in the header or at a URL the header names, "
                "other audiences, issuers and typs (near misses too), missing claims, and tokens expired or not yet "
                "valid at the lab's time.")

    @staticmethod
    def _nothing_returned(result: Any, what: str) -> None:
        """A verifier that returns None or {} for a bad token, instead of raising, is told so."""
        if result is None or (isinstance(result, dict) and not result) or result is False:
            raise Incorrect("verify(): " + RETURNED_NOTHING.format(value=result, what=what))

    @staticmethod
    def _explain_rejection(error: Exception, at: float, iat: float, exp: float) -> str:
        text = (f"verify() rejected alice's valid token at now = {lab_time(at)} (issued {lab_time(iat)}, "
                f"expires {lab_time(exp)}): {type(error).__name__}: {error}")
        if isinstance(error, TypeError) and "argument" in str(error):
            return f"{text}. The check calls verify(token, jwks_url, issuer, now): four arguments"
        if refused_by_pyjwt_clock(error):
            return (f"{text}. PyJWT compared the token's times with this computer's clock, not the lab's: "
                    "turn its three time checks off in options and compare exp, nbf and iat with now yourself")
        if isinstance(error, jwt.InvalidIssuerError):
            return f"{text}. The check's lab server has an issuer of its own: pass issuer=issuer, the argument"
        if isinstance(error, jwt.InvalidAudienceError):
            return f"{text}. The token's aud is 'lab-api': pass audience='lab-api' to PyJWT"
        if isinstance(error, jwt.InvalidAlgorithmError):
            return f"{text}. This server signs with RS256: algorithms=['RS256']"
        if isinstance(error, jwt.MissingRequiredClaimError):
            return (f"{text}. Require only claims every access token has (RFC 9068 §2.2): iss, sub, aud, exp, "
                    "iat, jti, client_id")
        if isinstance(error, jwt.PyJWKClientError):
            return f"{text}. Fetch the keys from jwks_url and pick the one whose kid is in the token's header"
        return (f"{text}. A token is valid while iat <= now and now < exp (and nbf <= now if it has one); "
                "compare with now, the argument, never with time.time()")


q1, q2, q3 = numbered(DecodePayload(), ComputeSignature(), VerifyProperly())
