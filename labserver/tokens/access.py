"""Access tokens: JWTs in the RFC 9068 profile, issued and verified against the lab clock.

Verification follows RFC 8725: the algorithm is pinned, the key is chosen by kid from our own key ring,
the type is checked (`typ: at+jwt`), and every required claim must be present and right.
PyJWT cannot be given a "now", so its time checks are switched off and ``check_times`` does them:
the one place where exp, nbf and iat meet the lab clock.

This is also the one place where the lab's DELIBERATELY VULNERABLE flaws (labserver.control.flaws) change how a
token is verified: each is a marked line or two beside the check it weakens, and does nothing unless its
flaw is switched on.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import math
import re
import warnings
from dataclasses import dataclass

import jwt

from labserver.accounts.users import User
from labserver.control.flaws import Flaws
from labserver.control.randomness import Randomness
from labserver.control.settings import Settings
from labserver.tokens import certificates, keysources
from labserver.tokens.keys import KeyRing
from labserver.tokens.verified import VerifiedTokens
from labserver.web.errors import InvalidToken

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
    def __init__(self, settings: Settings, keys: KeyRing, randomness: Randomness,
                 flaws: Flaws | None = None) -> None:
        self._settings = settings
        self._keys = keys
        self._random = randomness
        self._flaws = flaws or Flaws(settings.algorithm)
        self._hiding = False  # a challenge lab's (hide_flaw)
        self._key_files = keysources.KeyFiles()
        self._key_table = keysources.KeyTable()
        # Signature checks already done, by token string (see labserver.tokens.verified); times, key retirement and
        # the denylist are still decided on every request.
        self._verified = VerifiedTokens(settings.remember_tokens)

    @property
    def may_block(self) -> bool:
        """Whether verifying may wait on I/O: only while a flaw fetches, queries or reads keys (jku, x5u, kid),
        and always on a challenge lab, so that how long an ordinary request takes tells nothing."""
        return self._hiding or any(self._flaws.on(name) for name in ("jku-header", "x5u-header", "kid-sql",
                                                                      "kid-path"))

    def close(self) -> None:
        """Remove the key files of lab flaw "kid-path", if it ever made any."""
        self._key_files.close()

    def hide_flaw(self, now: float) -> None:
        """A challenge lab behaves alike whatever its hidden flaw: it writes the key files of lab flaw
        "kid-path" now (a folder appearing on the first request would tell), and verifies every token off the
        event loop (only the flaws that fetch, query or read keys would otherwise, a difference in timing)."""
        self._key_files.write(self._keys.hmac_secrets(now))
        self._hiding = True

    def forget_verified(self) -> None:
        """Verify every token from scratch again: call this whenever keys or verification settings change."""
        self._verified.clear()

    def issue(self, user: User, now: float, client_id: str | None = None) -> tuple[str, dict]:
        """Sign a fresh access token for the user's current role (for ``client_id``, by default the lessons'
        client); return it with its claims."""
        iat = int(now)
        claims = {
            "iss": self._settings.issuer_id,
            "sub": str(user.id),
            "aud": self._settings.audience,
            "exp": iat + int(self._settings.access_ttl),
            "iat": iat,
            "jti": self._random.token(16),
            "client_id": client_id or self._settings.client_id,
            "username": user.username,
            "roles": [user.role],  # RFC 9068 §2.2.3.1
        }
        key = self._keys.active
        # DELIBERATELY VULNERABLE (lab flaw "weak-secret"): sign with a common password instead of our key.
        if self._flaws.on("weak-secret"):
            key = self._keys.weak(now)
        if self._flaws.on("alg-confusion-hidden-key"):  # the setting of that flaw: a key the JWK Set never shows
            key = self._keys.unpublished(now)
        with warnings.catch_warnings():
            # PyJWT warns about the weak secret's length; the lab means it, and its log is no place for noise.
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            token = jwt.encode(claims, key.signing_key, algorithm=key.alg,
                               headers={"typ": TOKEN_TYPE, "kid": key.kid})
        return token, claims

    def verify(self, token: str, now: float, *, allow_expired: bool = False) -> AccessToken:
        """Return the token's claims, or raise InvalidToken saying what is wrong with it.

        ``allow_expired`` exists for the lab flaw "refresh-subject" only.
        """
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("token is too long")
        if "=" in token:  # RFC 7515 §2: base64url without padding; PyJWT would accept a padded segment
            raise InvalidToken("token is malformed")
        header = unverified_header(token)
        flaw = self._flaws.on
        alg = header.get("alg")
        # DELIBERATELY VULNERABLE (lab flaw "alg-none"): a token that calls itself unsigned is believed.
        # The fix is the pin below: the server's own algorithm, whatever the token says (RFC 8725 §3.1).
        unsigned = flaw("alg-none") and isinstance(alg, str) and alg.lower() == "none"
        # DELIBERATELY VULNERABLE (lab flaw "alg-confusion"): HS256 is accepted too, keyed with our public key
        # (further down, public_pem(key) becomes the HMAC secret). The fix is the pin below: one algorithm.
        confused = flaw("alg-confusion") and alg == "HS256"
        # DELIBERATELY VULNERABLE (lab flaw "alg-confusion-hidden-key"): the same confusion, keyed with a public key
        # the server never publishes. Two tokens it signed are enough to rebuild that key. The fix: the same pin.
        confused = confused or (flaw("alg-confusion-hidden-key") and alg == "HS256")
        if header.get("alg") != self._keys.alg and not (unsigned or confused):
            # Pinned: never let the token choose (alg "none", HS256 with a public key, ...).
            raise InvalidToken(f"algorithm must be {self._keys.alg}")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in (TOKEN_TYPE, "application/" + TOKEN_TYPE):
            raise InvalidToken(f"token type must be {TOKEN_TYPE}")
        key, secret = (None, None) if unsigned else self._key(header, now)
        if confused:
            secret = public_pem(key)  # the PEM text anyone can build from our JWKS, used as an HMAC secret
        if secret is not None and not hs256_signature_ok(token, secret):
            raise InvalidToken("signature is invalid")
        # DELIBERATELY VULNERABLE (lab flaw "no-signature"): the token is decoded; its signature is never checked.
        # The fix: never turn verify_signature off; PyJWT checks it unless told not to.
        check_signature = not (unsigned or secret is not None or flaw("no-signature"))
        # DELIBERATELY VULNERABLE (lab flaw "no-aud-iss"): a token minted for another service or by another
        # issuer passes. The fix: always pass audience= and issuer= and let them be checked (RFC 8725 §3.8-3.9).
        check_aud_iss = not flaw("no-aud-iss")
        try:
            claims = self._verified.decode(
                token, key, algorithms=[self._keys.alg],
                audience=self._settings.audience, issuer=self._settings.issuer_id,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": False,  # RFC 7519 §4.1.3: aud may be an array
                         "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "verify_signature": check_signature,
                         "verify_aud": check_aud_iss, "verify_iss": check_aud_iss})
            if not is_text(claims):
                raise ValueError("a claim is not Unicode text")  # malformed, below
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
        # DELIBERATELY VULNERABLE (lab flaw "no-exp"): check_times is told to let an expired token through.
        # The fix: always compare exp with the clock (here the lab clock; in PyJWT, verify_exp stays on).
        check_times(claims, now, self._settings.leeway, check_exp=not (flaw("no-exp") or allow_expired))
        for name in ("username", "client_id"):
            if not isinstance(claims.get(name), str):
                raise InvalidToken(f"claim {name} must be a string")
        if not isinstance(claims.get("roles", []), list):
            raise InvalidToken("claim roles must be a list")
        return AccessToken(claims)

    def _key(self, header: dict, now: float) -> tuple[object, bytes | None]:
        """Return the key to verify with, or (None, a raw HMAC secret) that the lab must check by hand.

        The fix for every flaw here is the last three lines: our own key ring, by kid, and nothing else.
        """
        flaw, kid = self._flaws.on, header.get("kid")
        if flaw("jwk-header") and "jwk" in header:
            return keysources.from_jwk(header["jwk"], self._keys.alg), None
        if flaw("jku-header") and "jku" in header:
            return keysources.from_jku(header["jku"], kid, self._keys.alg), None
        if flaw("x5c-header") and "x5c" in header:
            return certificates.from_x5c(header["x5c"], self._keys.alg), None
        if flaw("x5u-header") and "x5u" in header:
            return certificates.from_x5u(header["x5u"], self._keys.alg), None
        if not isinstance(kid, str):
            raise InvalidToken("unknown key id")
        # Raw secrets from a file or a table are checked by hand: PyJWT refuses an empty one, rightly.
        if flaw("kid-path"):
            return None, self._key_files.secret(kid, self._keys.hmac_secrets(now))
        if flaw("kid-sql"):
            return None, self._key_table.secret(kid, self._keys.hmac_secrets(now), flawed=True)
        if flaw("alg-confusion-hidden-key") and kid == self._keys.unpublished(now).kid:
            return self._keys.unpublished(now).verifying_key, None
        if flaw("weak-secret") and kid == self._keys.weak(now).kid:
            return None, self._keys.weak(now).signing_key  # by hand: PyJWT would warn about its length
        key = self._keys.find(kid, now)
        if key is None:
            raise InvalidToken("unknown key id")
        return key.verifying_key, None


def public_pem(key) -> bytes:
    """A public key in PEM form (SubjectPublicKeyInfo), the bytes an algorithm-confusion attacker signs with."""
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def hs256_signature_ok(token: str, secret: bytes) -> bool:
    """Check an HS256 signature by hand: the flawed lab's way to use secrets PyJWT refuses (empty, a PEM key)."""
    signing_input, _, signature = token.rpartition(".")
    expected = base64.urlsafe_b64encode(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
    return hmac.compare_digest(expected.rstrip(b"=").decode(), signature)


_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def unverified_header(token: str) -> dict:
    """Read the JOSE header, trusting nothing in it: only to pick the key and refuse early.

    jwt.decode parses and checks the whole token again, header included. jwt.get_unverified_header
    would decode all three segments, doubling PyJWT's parsing cost on every authenticated request.
    """
    if token.count(".") != 2:
        raise InvalidToken("token is malformed")
    return dict(_parsed_header(token.partition(".")[0]))  # a copy: the remembered one stays as parsed


@functools.lru_cache(maxsize=64)
def _parsed_header(segment: str) -> dict:
    """Parse a header segment; remembered, since every token signed with one key has the same header."""
    if not _SEGMENT.fullmatch(segment):
        raise InvalidToken("token is malformed")
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # bad base64, bad UTF-8, bad or too deep JSON
        raise InvalidToken("token is malformed") from None
    if not isinstance(header, dict) or not isinstance(header.get("kid", ""), str) or not is_text(header):
        raise InvalidToken("token is malformed")  # as PyJWT: kid is text
    return header


def is_text(value: object) -> bool:
    """Whether every string in parsed JSON is Unicode text. A JSON escape can spell a lone surrogate ("\\ud800",
    RFC 8259 §8.2) that no UTF-8 answer, SQL parameter or log line can carry: such a token is malformed."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_times(claims: dict, now: float, leeway: float, *, check_exp: bool = True) -> None:
    """Check exp, nbf and iat against the lab clock, allowing ``leeway`` seconds of clock skew.

    ``check_exp=False`` exists for the lab flaw "no-exp" only.
    """
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, (int, float))
                               or not _finite(value)):
            raise InvalidToken(f"claim {name} must be a number")
    if check_exp and now >= claims["exp"] + leeway:
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
