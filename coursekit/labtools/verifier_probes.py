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
from collections.abc import Iterator
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from jwt.api_jws import PyJWS

from coursekit.labtools.attacks import b64url, b64url_json

__all__ = ["attacker_key", "attacker_jwk", "lab_private_key", "algorithms_given_to_pyjwt", "rs256_labelled",
           "LEEWAY_LIMIT", "TYP_IS_A_MEDIA_TYPE"]

# The course's leeway rule, which every verifier check grades by (lessons 03, 04, 06, 07, 09): a verifier may allow
# up to LEEWAY_LIMIT seconds of clock skew past exp (none is fine); a token is expired from the second
# now >= exp + leeway (RFC 7519 §4.1.4: valid only before exp). So every right verifier accepts a token at
# exp - 1 and refuses it at exp + LEEWAY_LIMIT, and a check never asks about the seconds in between.
LEEWAY_LIMIT = 60

# What a check says to a verifier that refuses typ "application/at+jwt".
TYP_IS_A_MEDIA_TYPE = ("typ is a media type (RFC 7515 §4.1.9): compare it without case, the 'application/' prefix "
                       "optional; RFC 9068 §4 names both at+jwt and application/at+jwt")


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
        seen.append((header.get("alg") if isinstance(header, dict) else None,
                     list(arguments.get("algorithms") or [])))
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
