"""PKCE (RFC 7636): the code is redeemed only with the secret its authorization request was bound to.

The client makes a random ``code_verifier``, sends ``code_challenge = BASE64URL(SHA256(verifier))`` with
the authorization request and the verifier itself with the token request. Whoever catches the code on its
way back (another program on the loopback port, a log, a browser extension) lacks the verifier.
RFC 9700 §2.1.1: public clients MUST use it, with S256; ``plain`` sends the secret itself in the request,
which protects nothing against whoever can read that request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

# RFC 7636 §4.1, §4.2: 43 to 128 unreserved characters (a 43-character S256 challenge fits too).
UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


class PKCEError(ValueError):
    """The PKCE parameters are missing, malformed or of a refused method; the text says which."""


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def methods(plain_allowed: bool) -> list[str]:
    """The code_challenge_method values accepted (and published in the metadata)."""
    # DELIBERATELY VULNERABLE (lab flaw "pkce-plain"): plain too, where the challenge is the verifier itself;
    # whoever reads the authorization request can redeem the code. The fix: S256 only.
    return ["S256", "plain"] if plain_allowed else ["S256"]


S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


def check_challenge(challenge: str | None, method: str | None, *, required: bool,
                    plain_allowed: bool) -> tuple[str | None, str | None]:
    """Return the (challenge, method) to bind the code to, or raise PKCEError (an invalid_request)."""
    if not challenge:
        if required:
            raise PKCEError("code_challenge is missing: this server requires PKCE (RFC 7636) with "
                            "code_challenge_method=S256")
        # DELIBERATELY VULNERABLE (lab flaw "no-pkce"): a code bound to no challenge; whoever holds it redeems
        # it. The fix is the refusal above (required is False only with the flaw on).
        return None, None
    # RFC 7636 §4.3: a missing method means plain.
    method = method or "plain"
    if method not in methods(plain_allowed):
        raise PKCEError(f"code_challenge_method {method} is not supported: use S256 (transform algorithm "
                        f"not supported)")
    if not UNRESERVED.fullmatch(challenge):
        raise PKCEError("code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
    # An S256 challenge is BASE64URL(SHA256(verifier)): always 43 characters of the base64url alphabet (§4.2).
    if method == "S256" and not S256_CHALLENGE.fullmatch(challenge):
        raise PKCEError("an S256 code_challenge is BASE64URL(SHA-256(code_verifier)) without padding: 43 "
                        "characters of A-Z a-z 0-9 - _ (RFC 7636 §4.2)")
    return challenge, method


def verifier_matches(verifier: str, challenge: str, method: str) -> bool:
    """Whether the verifier is the one the challenge was made from (compared in constant time)."""
    expected = s256(verifier) if method == "S256" else verifier
    return hmac.compare_digest(expected.encode(), challenge.encode())
