"""What a check of a learner's verifier needs beyond tokens: an attacker's key, the lab's own private key, and
the allow-list the verifier handed PyJWT.

The lab's private key is a checker's privilege (it reads the lab's key file): with it a check plays a careless
issuer, signing tokens the real server would never sign, to see whether the learner's verifier notices.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from jwt.api_jws import PyJWS

from coursekit.labtools.attacks import b64url, b64url_json

__all__ = ["attacker_key", "attacker_jwk", "lab_private_key", "algorithms_given_to_pyjwt", "rs256_labelled",
           "LEEWAY_LIMIT", "TYP_IS_A_MEDIA_TYPE", "TYP_SPELLINGS", "claim_probes", "allow_list_fault",
           "allows_none", "RETURNED_NOTHING", "PYJWT_TIME_MESSAGES", "refused_by_pyjwt_clock",
           "returned_nothing"]

# The course's leeway rule, which every verifier check grades by (lessons 03, 04, 06, 07, 09): a verifier may allow
# up to LEEWAY_LIMIT seconds of clock skew past exp (none is fine); a token is expired from the second
# now >= exp + leeway (RFC 7519 §4.1.4: valid only before exp). So every right verifier accepts a token at
# exp - 1 and refuses it at exp + LEEWAY_LIMIT, and a check never asks about the seconds in between.
LEEWAY_LIMIT = 60

# What a check says to a verifier that refuses typ "application/at+jwt".
TYP_IS_A_MEDIA_TYPE = ("typ is a media type (RFC 7515 §4.1.9): compare it without case, the 'application/' prefix "
                       "optional; RFC 9068 §4 names both at+jwt and application/at+jwt")

# PyJWT's own messages when its time checks, reading this computer's clock, refuse a token: a check blames
# PyJWT's clock only when one of these is what refused a genuine token (not a learner's own comparison).
PYJWT_TIME_MESSAGES = ("Signature has expired", "The token is not yet valid (iat)",
                       "The token is not yet valid (nbf)")

# Other spellings of typ at+jwt that every right verifier accepts (RFC 7515 §4.1.9).
TYP_SPELLINGS = ("AT+JWT", "application/at+jwt")

# What a check says to a verifier that returned None or {} for a token it should refuse.
RETURNED_NOTHING = ("return the claims or raise; yours returned {value!r} on a forged token ({what}). A verifier "
                    "refuses by raising (any exception): a caller that gets a value back takes the token as valid")


@functools.lru_cache(maxsize=1)
def attacker_key() -> rsa.RSAPrivateKey:
    """An RSA key the lab never trusts (made once per process: a 2048-bit key takes tens of milliseconds)."""
    return rsa.generate_private_key(65537, 2048)


def lab_private_key(lab: Any, kid: str) -> Any:
    """The lab's private key with this kid, read from its key file."""
    with open(lab.keys_path) as f:
        jwk = next(j for j in json.load(f)["keys"] if j["kid"] == kid)
    return jwt.PyJWK({k: v for k, v in jwk.items() if not k.startswith("lab_")}).key


@contextlib.contextmanager
def algorithms_given_to_pyjwt() -> Iterator[list[tuple[str | None, list[str]]]]:
    """Record, for every signature PyJWT verifies meanwhile, the token's alg and the allow-list it was given.

    PyJWT refuses on its own to verify with a JWK-Set key under another algorithm, so a verifier that copies
    the token's alg into ``algorithms=`` is refused by PyJWT, not by itself, and no token shows the difference.
    The allow-list it hands PyJWT does show it, so a check reads that, as a reviewer reading the code would.
    """
    seen: list[tuple[str | None, list[str]]] = []
    original = getattr(PyJWS, "_verify_signature", None)
    if original is None:  # another PyJWT: the tokens alone then decide
        yield seen
        return
    signature = inspect.signature(original)

    def recording(*args, **kwargs):
        arguments = signature.bind(*args, **kwargs).arguments
        header = arguments.get("header")
        algorithms = arguments.get("algorithms")
        seen.append((header.get("alg") if isinstance(header, dict) else None,
                     algorithms if isinstance(algorithms, str) else list(algorithms or [])))
        return original(*args, **kwargs)

    PyJWS._verify_signature = recording
    try:
        yield seen
    finally:
        PyJWS._verify_signature = original


def rs256_labelled(alg_in_header: str, claims: dict, header: dict, key: Any) -> str:
    """A token signed with RS256 whose header nonetheless says ``alg_in_header``."""
    signing_input = b64url_json({**header, "alg": alg_in_header}) + "." + b64url_json(claims)
    signature = RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input.encode("ascii"), key)
    return f"{signing_input}.{b64url(signature)}"


def attacker_jwk(kid: str) -> dict:
    """The public half of ``attacker_key()`` as a JWK with this kid: what a forger embeds or hosts."""
    return {**RSAAlgorithm.to_jwk(attacker_key().public_key(), as_dict=True), "kid": kid, "alg": "RS256"}


def allows_none(seen: list) -> bool:
    """Whether any allow-list recorded by ``algorithms_given_to_pyjwt`` lets PyJWT accept alg none, in any case."""
    return any(isinstance(algs, list) and any(str(a).lower() == "none" for a in algs) for _alg, algs in seen)


def allow_list_fault(seen: list, pinned: str = "RS256") -> str | None:
    """What is wrong with the allow-lists a verifier handed PyJWT (``algorithms_given_to_pyjwt``), or None: a
    sentence whose subject ("your verifier") the check supplies.

    Three faults, told apart because their fixes differ: a string instead of a list (PyJWT then tests a
    substring); a list copied from the token's header (it changes with the token, or holds only the token's alg);
    a fixed list that allows algorithms besides the pinned one.
    """
    for _alg, algs in seen:
        if isinstance(algs, str):
            return (f"passed algorithms={algs!r}, a string: pass a list, algorithms=[{pinned!r}] (PyJWT tests "
                    "`alg in algorithms`, which on a string is a substring test)")
    lists = {tuple(algs) for _alg, algs in seen}
    for alg, algs in seen:
        if alg and alg != pinned and alg in algs and (len(lists) > 1 or pinned not in algs):
            return (f"handed PyJWT algorithms={algs!r} for a token whose header says alg {alg!r}: the token "
                    "chose its own algorithm, so any refusal was PyJWT's key check, not yours. The algorithm is "
                    f"the verifier's choice, algorithms=[{pinned!r}], never the token's alg (RFC 8725 §3.1)")
    for _alg, algs in seen:
        extra = [a for a in algs if a != pinned]
        if extra:
            return (f"handed PyJWT the fixed allow-list algorithms={algs!r}, which allows {extra} besides "
                    f"{pinned}: this server signs only with {pinned}, so allow only it, algorithms=[{pinned!r}] (RFC 8725 §3.1)")
    return None


def claim_probes(sign: Callable[..., str], payload: dict, issuer: str, audience: str,
                 required: tuple[str, ...] = ()) -> list[tuple[str, str, str, str]]:
    """Tokens signed with the lab's own genuine key that a right verifier refuses, each a near miss a slip accepts.

    ``sign(payload, typ=...)`` signs with the lab's key under its kid, typ "at+jwt" unless given (None: no typ).
    Returns (topic, what it is, token, advice); topic is "typ", "audience", "issuer" or "claims". ``required``
    names further claims the lab requires (a token without them is refused too).
    """
    def without(claim: str) -> dict:
        return {k: v for k, v in payload.items() if k != claim}

    near_aud, near_iss = f"{audience}-staging", f"{issuer}.attacker.example"
    exact_typ = ("compare typ whole: typ.lower().removeprefix('application/') == 'at+jwt', not a substring or a "
                 "suffix test (RFC 9068 §4; RFC 7515 §4.1.9)")
    exact_aud = (f"compare aud whole ({audience!r} must equal aud, or one member of an aud list): `in` on a "
                 "string is a substring test. PyJWT's audience= compares whole values (RFC 7519 §4.1.3)")
    probes = [
        ("typ", "a token signed with the lab's key whose header has no typ", sign(payload, typ=None),
         "an access token must say typ at+jwt (RFC 9068 §4): a token without typ is refused, "
         "header.get('typ', '') compared like any other"),
        *[("typ", f'a token signed with the lab\'s key whose typ is "{typ}"', sign(payload, typ=typ), exact_typ)
          for typ in ("not-at+jwt", "flat+jwt", "application/at+jwt+json")],
        ("audience", "a token signed with the lab's key with no aud claim", sign(without("aud")),
         f"require aud and compare it with {audience!r}: a token for no stated audience is not for this API "
         "(RFC 8725 §3.9; PyJWT: audience=... and 'aud' in options['require'])"),
        ("audience", f"a token signed with the lab's key for aud {near_aud!r}", sign({**payload, "aud": near_aud}),
         exact_aud),
        ("audience", f"a token signed with the lab's key for aud {[near_aud, 'reports']!r}",
         sign({**payload, "aud": [near_aud, "reports"]}), exact_aud),
        ("issuer", "a token signed with the lab's key with no iss claim", sign(without("iss")),
         "require iss and compare it with the issuer (RFC 8725 §3.8; PyJWT: issuer=... and 'iss' in "
         "options['require'])"),
        ("issuer", f"a token signed with the lab's key from iss {near_iss!r}", sign({**payload, "iss": near_iss}),
         "compare iss whole, iss == issuer: startswith accepts any issuer that begins with yours (RFC 8725 §3.8)"),
    ]
    probes += [("claims", f"a token signed with the lab's key with no {claim} claim", sign(without(claim)),
                f"require {claim}: the lab refuses an access token without it (RFC 9068 §2.2); put it in "
                "options['require']") for claim in required]
    return probes


def refused_by_pyjwt_clock(error: BaseException) -> bool:
    """Whether PyJWT's own time check (this computer's clock) raised this, not the learner's own comparison."""
    return isinstance(error, (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError)) \
        and str(error) in PYJWT_TIME_MESSAGES


def returned_nothing(result: Any) -> bool:
    """Whether a verifier's answer to a bad token is an empty value (None, {}, False) rather than claims."""
    return result is None or result is False or (isinstance(result, dict) and not result)
