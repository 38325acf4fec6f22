"""Files that hold secrets (signing keys, password hashes, refresh-token hashes): owner-only, written safely.

Every such file is created with mode 0600, whatever the umask, so other users of a shared machine cannot
read it. A replacement is written to a fresh temporary file created exclusively (``mkstemp``: O_EXCL,
never following a symlink planted at a guessable name) and then renamed over the old one.

On a shared machine another user may plant a file where ours will be (a keys file of theirs lets them forge
an admin token; a store or WAL file of theirs stays theirs to read and change). So a file we are given is
used only if it is ours: not a symlink, not another user's, not writable by the group or others
(``UnsafeFile``, naming the file and what is wrong). A signing-keys file that others can read is refused
too (whoever read it can sign admin tokens); another secrets file that others can read gets a warning.
"""

from __future__ import annotations

import os
import stat
import tempfile
import warnings
from pathlib import Path


class InsecureFileWarning(UserWarning):
    """A file with secrets in it is readable by the group or by everyone."""


class UnsafeFile(ValueError):
    """A file we were given could be another user's: a symlink, someone else's, or writable by others."""


def check_own(path: str | Path, what: str) -> None:
    """Raise UnsafeFile unless ``path`` is missing or a regular file of ours that only we can change."""
    try:
        info = os.lstat(path)  # lstat: a symlink is refused as itself, wherever it points
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFile(f"{what} {path} is a symbolic link: refused (whoever made it chooses what we read)")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"{what} {path} is not a regular file")
    if info.st_uid != os.geteuid():
        raise UnsafeFile(f"{what} {path} belongs to another user (uid {info.st_uid}): refused, they could have "
                         f"planted it; remove it or choose another path")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeFile(f"{what} {path} can be changed by other users (mode {stat.S_IMODE(info.st_mode):04o}): "
                         f"chmod 600 it")


def check_trusted(path: str | Path, what: str) -> None:
    """Raise UnsafeFile unless ``path`` (a file the server only reads: a certificate, a users file) belongs to us
    or to root and no other user can change it; a missing file is for the caller to report."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if info.st_uid not in (os.geteuid(), 0):
        raise UnsafeFile(f"{what} {path} belongs to another user (uid {info.st_uid}): refused, they could have "
                         f"planted it; use a file of yours (or root's)")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeFile(f"{what} {path} can be changed by other users (mode {stat.S_IMODE(info.st_mode):04o}): "
                         f"chmod go-w it")


def create_private(path: str | Path, what: str = "file") -> None:
    """Create ``path`` empty with mode 0600 if it does not exist yet; an existing one must be ours (check_own)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        check_own(path, what)
        return
    os.close(fd)


def write_private(path: str | Path, text: str | bytes) -> None:
    """Replace ``path`` with ``text`` atomically; the new file is the owner's alone (0600)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_unread(path: str | Path, what: str) -> None:
    """Raise UnsafeFile if others can read ``path``: a signing key they may already have read is no secret."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UnsafeFile(f"{what} {path} is readable by other users (mode {stat.S_IMODE(mode):04o}): refused, "
                         f"whoever read its keys can sign any token. Delete it for new keys (tokens signed "
                         f"with the old ones stop working), or chmod 600 it if nobody else could have read it")


def warn_if_readable_by_others(path: str | Path, what: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(f"{what} {path} is readable by other users (mode {stat.S_IMODE(mode):04o}): "
                      f"chmod 600 it", InsecureFileWarning, stacklevel=2)
