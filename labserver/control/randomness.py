"""Where the server's random values come from: `secrets`, or a seeded generator in the lab.

A lesson seeds its labs so that its outputs are the same on every run. With the seed alone, every learner's
lab would have the same keys, secrets and refresh tokens, and on a shared machine a classmate could compute
them (the seed is on the command line, which every local user can read). So the seed is mixed with a salt of
the user's own: a random value made once and kept in a file only they can read
(``$XDG_STATE_HOME/jwt-course/lab-seed-salt``, by default under ``~/.local/state``). A learner's runs stay
reproducible for that learner; another user's labs differ.

``LABSERVER_SEED_SALT`` overrides it: any text is the salt, and ``published`` means no salt at all, which
gives the values the notebooks' stored outputs show (the test suite and ``tools/execute_notebooks.py`` set it).
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import secrets
import warnings
from pathlib import Path

from labserver.storage.files import InsecureFileWarning, UnsafeFile, check_own

SALT_ENV = "LABSERVER_SEED_SALT"
PUBLISHED = "published"


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

    def __init__(self, seed: int, salt: bytes = b"") -> None:
        # Without a salt, exactly the published sequence; with one, a sequence only the salt's owner can compute.
        material = hashlib.sha256(salt + b"/" + str(seed).encode()).digest() if salt else seed
        self._rng = random.Random(material)  # noqa: S311 - deliberately predictable, lab only

    def bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)


def randomness_for(seed: int | None) -> Randomness:
    return Randomness() if seed is None else SeededRandomness(seed, user_salt())


def user_salt() -> bytes:
    """This user's salt for seeded labs: from LABSERVER_SEED_SALT, else from (or into) their private salt file."""
    given = os.environ.get(SALT_ENV)
    if given is not None:
        return b"" if given == PUBLISHED else given.encode()
    state = os.environ.get("XDG_STATE_HOME", "")
    folder = (Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state") / "jwt-course"
    path = folder / "lab-seed-salt"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            check_own(path, "seed salt file")
            if os.stat(path).st_mode & 0o077:
                raise UnsafeFile(f"seed salt file {path} is readable by other users") from None
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        salt = path.read_bytes().strip()
        if len(salt) >= 32:
            return salt
        raise UnsafeFile(f"seed salt file {path} is too short")
    except (OSError, UnsafeFile) as problem:
        # Secure, not reproducible: this lab's values follow from a salt nobody (this user included) keeps.
        warnings.warn(f"{problem}: seeded labs use a fresh salt this time", InsecureFileWarning, stacklevel=2)
        return secrets.token_bytes(32)
