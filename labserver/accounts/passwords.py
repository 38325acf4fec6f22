"""Password hashing with argon2id, and a dummy check that makes unknown users cost the same time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from labserver.control.randomness import Randomness

# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane (~20 ms here).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class Passwords:
    """Hash and check passwords; salts come from the server's randomness."""

    def __init__(self, randomness: Randomness) -> None:
        self._random = randomness
        # Drawn and not used: the dummy hash's salt once came from here, and seeded labs keep their sequence.
        randomness.bytes(16)
        _prepare_dummy_hash()

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
            return _hasher.verify(stored_hash or dummy_hash(), password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False


# Checked against when the username is unknown, so both failures take one argon2 run. It protects no
# password, so one per process will do: lab servers forked from the fork server inherit it, made once.
_dummy: list[str] = []
_dummy_lock = threading.Lock()


def dummy_hash() -> str:
    """The hash unknown users' passwords are checked against (made on first use)."""
    with _dummy_lock:
        if not _dummy:
            _dummy.append(_hasher.hash("dummy password for unknown users"))  # its own random salt
        return _dummy[0]


def _prepare_dummy_hash() -> None:
    """Make the dummy hash on a thread now, if this process has none yet, so no login waits for it."""
    if not _dummy:
        threading.Thread(target=dummy_hash, daemon=True).start()
