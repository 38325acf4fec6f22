"""DELIBERATELY VULNERABLE lab flaws: switches that make the server verify tokens the wrong way (lesson 06) or
run the authorization code flow the wrong way (lesson 10).

Every flaw is off by default and exists only on a loopback address (Settings refuses flaws on any other).
A flaw is switched on at start (``--flaw NAME``, ``labserver.start(flaws=(...))``) or at run time through
the lab controls (``PUT /lab/flaws``), and takes effect on the next request. While a flaw is on, the server
still answers genuine traffic as before; it only also accepts what it should not.

Each flaw is a few lines beside the secure code it replaces, marked with a comment that starts
``# DELIBERATELY VULNERABLE (lab flaw "NAME"):``. Search for that marker to read the flaw and its fix.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

# name -> what the server does wrong when it is on
FLAWS = {
    "no-signature": "the signature is not verified: the token is only decoded",
    "alg-none": 'a token with alg "none" (in any casing) is accepted without a signature',
    "weak-secret": "HS256 tokens are signed with a secret from a public wordlist of common passwords",
    "jwk-header": "a key embedded in the token's jwk header is trusted",
    "jku-header": "the key is fetched from the URL in the token's jku header (loopback URLs only)",
    "kid-path": "kid is used as a file path to read the HMAC secret (path traversal)",
    "kid-sql": "kid is pasted into the SQL that looks the HMAC secret up (SQL injection)",
    "alg-confusion": "a public-key server also accepts HS256, with its public key (PEM) as the HMAC secret",
    "no-exp": "exp is not checked: expired tokens are accepted",
    "no-aud-iss": "aud and iss are not checked: tokens minted for another service are accepted",
    "no-pkce": "PKCE is optional: a code is issued without code_challenge and redeemed without code_verifier",
    "pkce-plain": "the PKCE method plain is accepted: the challenge is the verifier itself",
    "redirect-prefix": "a redirect URI is accepted when it starts with a registered one's scheme and host",
    "code-reuse": "an authorization code can be redeemed again, and the login of its first use lives on",
}
# The flaws of the code flow (lesson 10); the others are flaws of token verification (lesson 06).
CODE_FLOW = ("no-pkce", "pkce-plain", "redirect-prefix", "code-reuse")

# Flaws that only make sense with one kind of key.
HMAC_ONLY = ("weak-secret", "kid-path", "kid-sql")
PUBLIC_KEY_ONLY = ("alg-confusion",)


def check_flaws(names: Iterable[str], algorithm: str) -> tuple[str, ...]:
    """Return the names as a sorted tuple, or raise ValueError naming an unknown or misplaced flaw."""
    names = tuple(sorted(set(names)))
    for name in names:
        if name not in FLAWS:
            raise ValueError(f"unknown lab flaw {name!r}; the flaws are: {', '.join(FLAWS)}")
        if name in HMAC_ONLY and algorithm != "HS256":
            raise ValueError(f"lab flaw {name!r} needs an HS256 server (this one signs with {algorithm})")
        if name in PUBLIC_KEY_ONLY and algorithm == "HS256":
            raise ValueError(f"lab flaw {name!r} needs a public-key server (RS256, ES256 or EdDSA)")
    return names


class Flaws:
    """The flaws switched on right now; read on every verification, so a change applies to the next request."""

    def __init__(self, algorithm: str, initial: Iterable[str] = ()) -> None:
        self._algorithm = algorithm
        self._on = frozenset(check_flaws(initial, algorithm))
        self._lock = threading.Lock()
        # Called after every change: anything that remembers verification results must forget them.
        self.listeners: list[Callable[[], None]] = []

    def on(self, name: str) -> bool:
        assert name in FLAWS, name
        return name in self._on

    @property
    def enabled(self) -> list[str]:
        return sorted(self._on)

    def set(self, names: Iterable[str]) -> list[str]:
        """Switch exactly these flaws on and every other off; return the names now on."""
        checked = check_flaws(names, self._algorithm)
        with self._lock:
            self._on = frozenset(checked)
        for listener in self.listeners:
            listener()
        return self.enabled
