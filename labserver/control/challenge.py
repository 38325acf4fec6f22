"""The black-box challenge: one DELIBERATELY VULNERABLE flaw drawn from a seed, named by nobody but the learner.

A challenge lab has exactly one flaw among those a forged token can prove (FORGEABLE), and keeps it to
itself: the lab controls refuse to list or switch flaws, the banner, log and audit say only that a flaw is
hidden, and the seed reaches the server in a private file it deletes at once (never on the command line or
in the environment). Without a seed the server draws one itself, so nobody ever holds it.

The learner probes with the lesson's tools, then answers with the flaw's name and a forged admin token.
An answer is right when the name is the lab's flaw and the token is one the lab accepts as an admin's
while a secure verifier refuses it. The reply says right or wrong, nothing else, and the lab counts the
answers: ATTEMPTS per challenge, so trying every known forgery in turn is not a strategy.
"""

from __future__ import annotations

import hashlib
import os
import threading

# The flaws a forged admin token proves, with the algorithm the lab then signs with.
FORGEABLE = {
    "no-signature": ("HS256", "RS256"),
    "alg-none": ("HS256", "RS256"),
    "weak-secret": ("HS256",),
    "kid-path": ("HS256",),
    "kid-sql": ("HS256",),
    "jwk-header": ("RS256",),
    "jku-header": ("RS256",),
    "x5c-header": ("RS256",),
    "x5u-header": ("RS256",),
    "alg-confusion": ("RS256",),
    "alg-confusion-hidden-key": ("RS256",),
}
ATTEMPTS = 3


def draw(seed: str) -> tuple[str, str]:
    """The (flaw, algorithm) a seed gives: the same for the same seed, spread evenly over FORGEABLE."""
    digest = hashlib.sha256(b"jwt-course challenge\0" + seed.encode()).digest()
    names = sorted(FORGEABLE)
    flaw = names[int.from_bytes(digest[:8], "big") % len(names)]
    algorithms = FORGEABLE[flaw]
    return flaw, algorithms[digest[8] % len(algorithms)]


def read_seed_file(path: str) -> str:
    """Read the seed a starter left in a private file and delete the file; an empty file means draw one."""
    try:
        with open(path, encoding="utf-8") as file:
            seed = file.read().strip()
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return seed or os.urandom(16).hex()


class Challenge:
    """The answers given so far; the flaw itself is switched on in the lab's Flaws and named nowhere else."""

    def __init__(self, flaw: str) -> None:
        self._flaw = flaw
        self._left = ATTEMPTS
        self._solved = False
        self._lock = threading.Lock()

    @property
    def attempts_left(self) -> int:
        return self._left

    @property
    def solved(self) -> bool:
        return self._solved

    def answer(self, flaw: str, token_proves_a_flaw) -> bool | None:
        """Count one answer and return whether it is right; None when no attempt is left.

        The token is checked whatever the name, so the time an answer takes does not tell a right name.
        """
        with self._lock:
            if self._solved:
                return True
            if self._left == 0:
                return None
            self._left -= 1
            proved = bool(token_proves_a_flaw())
            right = flaw == self._flaw and proved
            self._solved = right
            return right
