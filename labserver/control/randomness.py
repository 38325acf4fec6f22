"""Where the server's random values come from: `secrets`, or a seeded generator in the lab."""

from __future__ import annotations

import base64
import random
import secrets


class Randomness:
    """Cryptographically secure random bytes from the operating system."""

    predictable = False

    def bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def token(self, n: int = 32) -> str:
        """Return n random bytes as URL-safe text (for session ids, refresh tokens, jti)."""
        return base64.urlsafe_b64encode(self.bytes(n)).rstrip(b"=").decode()


class SeededRandomness(Randomness):
    """LAB ONLY, INSECURE BY DESIGN: every "random" value follows from the seed.

    Makes token strings and ids reproducible so notebook outputs can be compared exactly.
    Settings refuse it on anything but a loopback address.
    """

    predictable = True

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - deliberately predictable, lab only

    def bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)


def randomness_for(seed: int | None) -> Randomness:
    return Randomness() if seed is None else SeededRandomness(seed)
