"""Password hashing with argon2id, and a dummy check that makes unknown users cost the same time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from labserver.randomness import Randomness

# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane (~20 ms here).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class Passwords:
    """Hash and check passwords; salts come from the server's randomness."""

    def __init__(self, randomness: Randomness) -> None:
        self._random = randomness
        # Checked against when the username is unknown, so both failures take one argon2 run. Its salt is
        # drawn now, in order (seeded labs stay reproducible); the hash is made on a thread, off the start-up.
        self._dummy = _Computed(_hasher.hash, "dummy password for unknown users", salt=randomness.bytes(16))

    @property
    def _dummy_hash(self) -> str:
        return self._dummy.result()

    def hash(self, password: str) -> str:
        return _hasher.hash(password, salt=self._random.bytes(16))

    def hash_all(self, passwords: list[str]) -> list[str]:
        """Hash several passwords side by side (argon2 releases the GIL): a server start waits for one, not all."""
        salts = [self._random.bytes(16) for _ in passwords]  # drawn in order, as one hash() after another would
        if len(passwords) < 2:
            return [_hasher.hash(password, salt=salt) for password, salt in zip(passwords, salts)]
        with ThreadPoolExecutor(max_workers=len(passwords)) as pool:
            return list(pool.map(lambda pair: _hasher.hash(pair[0], salt=pair[1]), zip(passwords, salts)))

    def check(self, stored_hash: str | None, password: str) -> bool:
        """Return whether the password matches; with no stored hash, spend the same time and say no."""
        try:
            return _hasher.verify(stored_hash or self._dummy_hash, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False


class _Computed:
    """A value computed on a thread of its own; ``result()`` waits for it."""

    def __init__(self, function, *args, **kwargs) -> None:
        self._value: str | None = None
        self._thread = threading.Thread(target=self._run, args=(function, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, function, args, kwargs) -> None:
        self._value = function(*args, **kwargs)

    def result(self) -> str:
        self._thread.join()
        return self._value
