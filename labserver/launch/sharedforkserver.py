"""Find or start the fork server shared by every Python process of this user, interpreter and labserver code.

Each notebook kernel, test worker and script is a Python process of its own; with a fork server per process,
each paid the fork server's imports (~0.45 s) before its first lab. One fork server per user serves them all:
the first process to start a lab starts it, every later one connects to it.

What a process must be able to trust before it asks a shared process to fork its servers:
- **Only this user reaches it.** The socket lives in a directory that is ours alone: ``$XDG_RUNTIME_DIR/
  jwt-course-labserver`` or, without one, ``<temp dir>/jwt-course-labserver-<uid>``, created 0700 and checked
  (a real directory, owned by us, no access for group or others, in a parent nobody else can swap it out of)
  every time; anything else is refused. The socket file is 0600, and both ends check the other's uid with
  ``SO_PEERCRED`` as well.
- **It runs the same code.** The socket's name is a fingerprint of the interpreter (path, prefix, version),
  the installed packages (the site-packages folders' modification times) and every file of the labserver
  package (path, size, modification time). A changed checkout or another venv has another name, so it
  never gets forks of stale code; the fork server checks the fingerprint itself before and after its
  imports and leaves if it does not match the name it was started under. A process computes the fingerprint
  once, on first use, close to when it imported labserver itself: its fork server runs the code it runs.
- **One at a time.** Starting one happens under an exclusive ``flock`` on the directory's lock file: two
  kernels starting at once end up with one fork server. A socket file nobody listens on (its fork server was
  killed) is replaced under the same lock.

Whatever goes wrong here raises ``SharingRefused`` (an ``OSError``), and the starting program
(``labserver.launch.forkclient``) falls back to a fork server of its own, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import stat
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from functools import cache
from pathlib import Path

IDLE_ENV = "LABSERVER_FORKSERVER_IDLE"  # seconds the shared fork server stays with nobody to serve
DEFAULT_IDLE = 300.0  # a learner moving to the next notebook, or the next test file, finds it still there
LOCK_TIMEOUT = 10.0  # the lock is held for a connect and a process start: milliseconds, seconds under load

# The labserver package this module is part of: every file in it, subpackages too, is in the fingerprint.
PACKAGE = Path(__file__).resolve().parents[1]

_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
# The fork server's first line of Python: import labserver from the same folder as the process that starts
# it (its own working directory is the private socket folder, not the caller's), then serve.
_BOOT = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
         "from labserver.launch.forkserver import main; main(sys.argv[1:])")


class SharingRefused(OSError):
    """A shared fork server cannot be used safely here; use one of this process's own."""


def folder() -> Path:
    """This user's private folder for fork server sockets, created if need be, checked every time."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime):
        path = Path(runtime) / "jwt-course-labserver"
    else:
        path = Path(tempfile.gettempdir()) / f"jwt-course-labserver-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    check_private(path)
    return path


def check_private(path: Path) -> None:
    """Refuse a folder that anyone but us could use, or that anyone but us could replace."""
    info = os.lstat(path)  # lstat: a symlink planted by someone else is not our folder
    if not stat.S_ISDIR(info.st_mode):
        raise SharingRefused(f"{path} is not a directory")
    if info.st_uid != os.geteuid():
        raise SharingRefused(f"{path} belongs to uid {info.st_uid}, not to us")
    if info.st_mode & 0o077:
        raise SharingRefused(f"{path} is open to others (mode {stat.S_IMODE(info.st_mode):o}, must be 700)")
    parent = os.stat(path.parent)
    # Others may write in the parent only if it is sticky (like /tmp): otherwise they could rename our folder.
    if parent.st_uid not in (0, os.geteuid()) or (parent.st_mode & 0o022 and not parent.st_mode & stat.S_ISVTX):
        raise SharingRefused(f"{path.parent} could be changed by others")


@cache
def fingerprint() -> str:
    """A name for this interpreter, its installed packages and this labserver code, as they are on disk."""
    digest = hashlib.sha256()
    for part in (sys.executable, sys.prefix, sys.version, str(PACKAGE)):
        digest.update(part.encode() + b"\0")
    for site in sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}):
        with contextlib.suppress(OSError):  # a pip install or uninstall changes the folder's entries
            digest.update(f"{site}\0{os.stat(site).st_mtime_ns}\n".encode())
    for path in sorted(PACKAGE.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        info = path.stat()
        digest.update(f"{path.relative_to(PACKAGE)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def code_fingerprint_now() -> str:
    """The fingerprint as the files are at this moment (not the one this process computed first)."""
    fingerprint.cache_clear()
    return fingerprint()


def idle_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(IDLE_ENV, DEFAULT_IDLE)))
    except ValueError:
        return DEFAULT_IDLE


def peer_uid(sock: socket.socket) -> int:
    return _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))[1]


def connect(timeout: float) -> tuple[socket.socket, subprocess.Popen | None]:
    """A connection to this user's fork server for this code, started if there is none.

    Returns the socket and, if this call started the fork server, its process (ours to reap, never to wait
    for: it serves others too).
    """
    where = folder()
    path = where / f"forkserver-{fingerprint()}.sock"
    sock = _try_connect(path, timeout)
    if sock is not None:
        return sock, None
    with _locked(where / "forkservers.lock"):
        sock = _try_connect(path, timeout)  # another process may have started it while we waited
        if sock is not None:
            return sock, None
        process = _start(path, where)
        sock = _try_connect(path, timeout)  # queued until the fork server has imported and accepts
    if sock is None:
        raise SharingRefused(f"could not connect to the fork server just started at {path}")
    return sock, process


def _try_connect(path: Path, timeout: float) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):  # none yet, or a stale socket file: start one
        sock.close()
        return None
    except OSError:
        sock.close()
        raise
    if peer_uid(sock) != os.geteuid():  # cannot happen in a folder of ours; checked all the same
        sock.close()
        raise SharingRefused(f"{path} is served by another user")
    return sock


@contextlib.contextmanager
def _locked(path: Path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SharingRefused(f"{path} stayed locked for {LOCK_TIMEOUT:.0f} s") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # releases the lock


def _start(path: Path, where: Path) -> subprocess.Popen:
    """Bind the socket here, then hand it to a new fork server: connections queue while it imports."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # stale: nobody answered on it, and we hold the lock
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        listener.bind(str(path))
        os.chmod(path, 0o600)  # connecting takes write permission: ours alone, even in a folder opened by mistake
        listener.listen(64)
        fd = listener.fileno()
        return subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(PACKAGE.parent),
             "--listen-fd", str(fd), "--socket", str(path), "--inode", str(os.stat(path).st_ino),
             "--key", fingerprint(), "--idle", repr(idle_seconds())],
            pass_fds=[fd], cwd=where,
            # Nothing of the starting program's: not its stdin (a notebook kernel's), not its output streams,
            # not its session (a kernel restart signals the kernel's process group, not this shared process).
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
    finally:
        listener.close()


@contextlib.contextmanager
def locked_for_retirement(path: Path):
    """Held by a fork server while it removes its socket, so no process starts a new one meanwhile."""
    with _locked(path.parent / "forkservers.lock"):
        yield
