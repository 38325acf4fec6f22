"""Files that hold secrets (signing keys, password hashes, refresh-token hashes): owner-only, written safely.

Every such file is created with mode 0600, whatever the umask, so other users of a shared machine cannot
read it. A replacement is written to a fresh temporary file created exclusively (``mkstemp``: O_EXCL,
never following a symlink planted at a guessable name) and then renamed over the old one.
A secrets file that others can already read gets a warning.
"""

from __future__ import annotations

import os
import stat
import tempfile
import warnings
from pathlib import Path


class InsecureFileWarning(UserWarning):
    """A file with secrets in it is readable by the group or by everyone."""


def create_private(path: str | Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist yet (an existing file is left alone)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def write_private(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically; the new file is the owner's alone (0600)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def warn_if_readable_by_others(path: str | Path, what: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(f"{what} {path} is readable by other users (mode {stat.S_IMODE(mode):04o}): "
                      f"chmod 600 it", InsecureFileWarning, stacklevel=2)
