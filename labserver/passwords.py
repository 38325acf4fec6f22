"""Password hashing with argon2id, and a dummy check that makes unknown users cost the same time."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from labserver.randomness import Randomness

# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane (~20 ms here).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class Passwords:
    """Hash and check passwords; salts come from the server's randomness."""

    def __init__(self, randomness: Randomness) -> None:
        self._random = randomness
        # Checked against when the username is unknown, so both failures take one argon2 run.
        self._dummy_hash = self.hash("dummy password for unknown users")

    def hash(self, password: str) -> str:
        return _hasher.hash(password, salt=self._random.bytes(16))

    def check(self, stored_hash: str | None, password: str) -> bool:
        """Return whether the password matches; with no stored hash, spend the same time and say no."""
        try:
            return _hasher.verify(stored_hash or self._dummy_hash, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False
