"""Access tokens: JWTs in the RFC 9068 profile, issued and verified against the lab clock.

Verification follows RFC 8725: the algorithm is pinned, the key is chosen by kid from our own key ring,
the type is checked (`typ: at+jwt`), and every required claim must be present and right.
PyJWT cannot be given a "now", so its time checks are switched off and ``check_times`` does them:
the one place where exp, nbf and iat meet the lab clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass

import jwt

from labserver.errors import InvalidToken
from labserver.keys import KeyRing
from labserver.randomness import Randomness
from labserver.settings import Settings
from labserver.users import User
from labserver.verified import VerifiedTokens

TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")
# A real access token here is well under 1 KB; anything this long is refused before parsing.
MAX_TOKEN_LENGTH = 8192


@dataclass(frozen=True)
class AccessToken:
    """A verified access token: its claims, readable by the route that asked."""

    claims: dict

    @property
    def username(self) -> str:
        return self.claims["username"]

    @property
    def roles(self) -> list[str]:
        return list(self.claims.get("roles", []))


class AccessTokens:
    def __init__(self, settings: Settings, keys: KeyRing, randomness: Randomness) -> None:
        self._settings = settings
        self._keys = keys
        self._random = randomness
        # Signature checks already done, by token string (see labserver.verified); times, key retirement and
        # the denylist are still decided on every request.
        self._verified = VerifiedTokens(settings.remember_tokens)

    def forget_verified(self) -> None:
        """Verify every token from scratch again: call this whenever keys or verification settings change."""
        self._verified.clear()

    def issue(self, user: User, now: float) -> tuple[str, dict]:
        """Sign a fresh access token for the user's current role; return it with its claims."""
        iat = int(now)
        claims = {
            "iss": self._settings.issuer_id,
            "sub": str(user.id),
            "aud": self._settings.audience,
            "exp": iat + int(self._settings.access_ttl),
            "iat": iat,
            "jti": self._random.token(16),
            "client_id": self._settings.client_id,
            "username": user.username,
            "roles": [user.role],  # RFC 9068 §2.2.3.1
        }
        key = self._keys.active
        token = jwt.encode(claims, key.signing_key, algorithm=key.alg,
                           headers={"typ": TOKEN_TYPE, "kid": key.kid})
        return token, claims

    def verify(self, token: str, now: float) -> AccessToken:
        """Return the token's claims, or raise InvalidToken saying what is wrong with it."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("token is too long")
        header = unverified_header(token)
        if header.get("alg") != self._keys.alg:
            # Pinned: never let the token choose (alg "none", HS256 with a public key, ...).
            raise InvalidToken(f"algorithm must be {self._keys.alg}")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in (TOKEN_TYPE, "application/" + TOKEN_TYPE):
            raise InvalidToken(f"token type must be {TOKEN_TYPE}")
        kid = header.get("kid")
        key = self._keys.find(kid, now) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("unknown key id")
        try:
            claims = self._verified.decode(
                token, key.verifying_key, algorithms=[self._keys.alg],
                audience=self._settings.audience, issuer=self._settings.issuer_id,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": True,
                         "verify_exp": False, "verify_nbf": False, "verify_iat": False})
        except jwt.InvalidSignatureError:
            raise InvalidToken("signature is invalid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"token has no {exc.claim} claim") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("token is meant for another audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token is from another issuer") from None
        except (jwt.InvalidTokenError, TypeError, ValueError):
            raise InvalidToken("token is malformed") from None
        check_times(claims, now, self._settings.leeway)
        for name in ("username", "client_id"):
            if not isinstance(claims.get(name), str):
                raise InvalidToken(f"claim {name} must be a string")
        if not isinstance(claims.get("roles", []), list):
            raise InvalidToken("claim roles must be a list")
        return AccessToken(claims)


_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def unverified_header(token: str) -> dict:
    """Read the JOSE header, trusting nothing in it: only to pick the key and refuse early.

    jwt.decode parses and checks the whole token again, header included. jwt.get_unverified_header
    would decode all three segments, doubling PyJWT's parsing cost on every authenticated request.
    """
    segment = token.partition(".")[0]
    if token.count(".") != 2 or not _SEGMENT.fullmatch(segment):
        raise InvalidToken("token is malformed")
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # bad base64, bad UTF-8, bad or too deep JSON
        raise InvalidToken("token is malformed") from None
    if not isinstance(header, dict) or not isinstance(header.get("kid", ""), str):  # as PyJWT: kid is text
        raise InvalidToken("token is malformed")
    return header


def check_times(claims: dict, now: float, leeway: float) -> None:
    """Check exp, nbf and iat against the lab clock, allowing ``leeway`` seconds of clock skew."""
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, (int, float))
                               or not _finite(value)):
            raise InvalidToken(f"claim {name} must be a number")
    if now >= claims["exp"] + leeway:
        raise InvalidToken("token has expired")
    if "nbf" in claims and now < claims["nbf"] - leeway:
        raise InvalidToken("token is not valid yet")
    if now < claims["iat"] - leeway:
        raise InvalidToken("token was issued in the future")


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range (JSON allows 1 followed by 400 zeros)
        return False
