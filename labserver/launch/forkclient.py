"""The starting program's side of the fork server: connect to one and fork lab servers from it.

``fork_server()`` is this process's connection, to the user's shared fork server (found or started by
labserver.launch.sharedforkserver) or, where sharing is refused, to one of its own; ``ForkServer.spawn``
returns a ``ForkedProcess``, driven like the ``subprocess.Popen`` of ``python -m labserver`` it replaces.
How the fork server works, and why: labserver.launch.forkserver.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import threading

from labserver.launch import sharedforkserver
from labserver.launch.forkwire import MAX_MESSAGE, STATUS, readable

SUPPORTED = sys.platform == "linux" and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")
MODE_ENV = "LABSERVER_FORKSERVER"  # "shared" (default) or "private": a fork server of this process alone

_ANSWER_TIMEOUT = 60.0  # the first answer waits for the imports: seconds on a busy machine, never a minute


class ForkedProcess:
    """A forked lab server, driven like the ``subprocess.Popen`` of ``python -m labserver`` it replaces.

    ``stdin`` is the write end of the server's lifeline; closing it tells the server to exit. ``stdout``
    carries its ready line. The exit status comes from the fork server, which is its parent; should the fork
    server be gone, the pidfd still tells when the server ends (its status is then unknown: -1).
    """

    def __init__(self, pid: int, stdin, stdout, status_fd: int, pidfd: int | None) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.returncode: int | None = None
        self.args = [sys.executable, "-m", "labserver", "(forked)"]
        self._status_fd = status_fd
        # Opened by the fork server before it could reap the pid, so it is this very process.
        self._pidfd = pidfd if pidfd is not None else os.pidfd_open(pid)
        self._lock = threading.Lock()

    def poll(self) -> int | None:
        return self._collect(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._collect(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                signal.pidfd_send_signal(self._pidfd, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _collect(self, timeout: float | None) -> int | None:
        with self._lock:
            if self.returncode is not None:
                return self.returncode
            if self._status_fd is not None:
                if not readable(self._status_fd, timeout):
                    return None
                data = os.read(self._status_fd, STATUS.size)
                os.close(self._status_fd)
                self._status_fd = None
                if len(data) == STATUS.size:
                    return self._ended(STATUS.unpack(data)[0])
            # The fork server has gone before its child: wait for the child itself.
            return self._ended(-1) if readable(self._pidfd, timeout) else None

    def _ended(self, code: int) -> int:
        self.returncode = code
        os.close(self._pidfd)
        return code

    def __del__(self) -> None:
        if self.returncode is None:
            for fd in (self._status_fd, self._pidfd):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass




def _umask() -> int | None:
    """This process's umask, read without changing it (os.umask can only set it, racing other threads)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return None


class ForkServer:
    """The connection to a fork server process, shared by every thread of the starting program."""

    def __init__(self, sock: socket.socket, *, process: subprocess.Popen | None, shared: bool) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._greeted = False
        self.owner = os.getpid()
        self.shared = shared
        self.process = process  # if this process started it (for a shared one: only to reap it)
        self.pid = process.pid if process is not None else None  # the fork server's, once it has said hello

    @classmethod
    def private(cls) -> "ForkServer":
        """Start a fork server for this process alone; it exits when this process closes the connection."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.settimeout(_ANSWER_TIMEOUT)
        process = subprocess.Popen(
            [sys.executable, "-m", "labserver.launch.forkserver", "--fd", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            # Nothing of the starting program's: not its stdin (a notebook kernel's), not its output streams.
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        theirs.close()
        return cls(ours, process=process, shared=False)

    @classmethod
    def shared_one(cls) -> "ForkServer":
        """Connect to this user's fork server for this code, starting it if there is none."""
        sock, process = sharedforkserver.connect(_ANSWER_TIMEOUT)
        if process is not None:
            _started_shared.append(process)
        return cls(sock, process=process, shared=True)

    @property
    def alive(self) -> bool:
        if self.owner != os.getpid() or self._sock.fileno() == -1:
            return False
        if not self.shared and self.process.poll() is not None:
            return False
        # Between requests a fork server sends nothing: a readable socket means it has closed. Between
        # requests: another thread's answer may be on its way, so wait for that thread's exchange to end.
        with self._lock:
            return not self._greeted or (self._sock.fileno() != -1 and not readable(self._sock, 0))

    def spawn(self, argv: list[str], log_fd: int) -> ForkedProcess:
        """Fork a server running ``python -m labserver ARGV``; its stderr goes to ``log_fd``."""
        with self._lock:
            try:
                return self._spawn(argv, log_fd)
            except OSError:
                if not self.shared or self.owner != os.getpid():
                    raise
            # The shared fork server has gone (killed, or it retired just as we connected): whatever it had
            # forked for this request has lost its lifeline already. Ask a new one, once; should that fail
            # too, this process keeps to a fork server of its own from now on.
            self._sock.close()
            try:
                fresh = ForkServer.shared_one()
                self._sock, self.process, self.pid, self._greeted = fresh._sock, fresh.process, fresh.pid, False
                return self._spawn(argv, log_fd)
            except OSError as exc:
                self._sock.close()
                _refuse_sharing(exc)
                raise

    def _spawn(self, argv: list[str], log_fd: int) -> ForkedProcess:
        if not self._greeted:
            hello = self._receive()[0]
            self.pid = hello["pid"]
            self._greeted = True
        try:
            cwd = os.getcwd()
        except OSError:  # deleted under us: the server starts in the fork server's folder instead
            cwd = None
        request = {"argv": argv, "cwd": cwd, "env": dict(os.environ), "umask": _umask()}
        lifeline_r, lifeline_w = os.pipe()
        ready_r, ready_w = os.pipe()
        status_r, status_w = os.pipe()
        try:
            socket.send_fds(self._sock, [json.dumps(request).encode()], [lifeline_r, ready_w, log_fd, status_w])
            for fd in (lifeline_r, ready_w, status_w):  # sent: the fork server passes them on, then closes them
                os.close(fd)
            lifeline_r = ready_w = status_w = None
            reply, pidfd = self._receive()
        except BaseException:
            for fd in (lifeline_r, ready_w, status_w, lifeline_w, ready_r, status_r):
                if fd is not None:
                    os.close(fd)
            raise
        return ForkedProcess(reply["pid"], os.fdopen(lifeline_w, "wb", buffering=0), os.fdopen(ready_r, "rb"),
                             status_r, pidfd)

    def _receive(self) -> tuple[dict, int | None]:
        try:
            message, fds, _flags, _addr = socket.recv_fds(self._sock, MAX_MESSAGE, 1)
        except TimeoutError:
            # A late answer would be read as the next request's: give this fork server up entirely.
            self._sock.close()
            raise
        if not message:
            self._sock.close()
            raise ConnectionResetError("the lab fork server has exited")
        try:
            answer = json.loads(message)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("pid", answer.get("error")), (int, str)):
            # Not our fork server's language (another program on the socket, or a broken one): give it up, and
            # let the caller fall back (an OSError, like every other way a fork server can fail us).
            for fd in fds:
                os.close(fd)
            self._sock.close()
            raise ConnectionError(f"the lab fork server answered something it never says: {message[:80]!r}")
        if "error" in answer:
            for fd in fds:
                os.close(fd)
            raise OSError(f"the lab fork server refused: {answer['error']}")
        return answer, (fds[0] if fds else None)

    def close(self) -> None:
        """Leave the fork server (servers it forked keep running until their own lifelines close).

        A fork server of this process alone exits now; the shared one only once nobody uses it.
        """
        self._sock.close()
        if not self.shared:
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_server: ForkServer | None = None
_server_lock = threading.Lock()
_RUNNING_STATE = ("_server",)  # the connection, made on first use (a course grader's seal leaves it be)
_started_shared: list[subprocess.Popen] = []  # shared fork servers this process started: reaped, never awaited
sharing_refused: str | None = None  # why this process uses a fork server of its own, if it does


def fork_server() -> ForkServer:
    """The fork server this process uses, connected on first use (and again if it has gone)."""
    global _server
    with _server_lock:
        _started_shared[:] = [p for p in _started_shared if p.poll() is None]
        if _server is None or not _server.alive:
            if _server is not None and _server.owner == os.getpid():
                _server.close()
            _server = _connect()
        return _server


def _connect() -> ForkServer:
    if os.environ.get(MODE_ENV, "shared") == "private":
        return ForkServer.private()
    if sharing_refused is None:
        try:
            return ForkServer.shared_one()
        except OSError as exc:  # unsafe or impossible here: remember why, and keep to a fork server of our own
            _refuse_sharing(exc)
    return ForkServer.private()


def _refuse_sharing(exc: OSError) -> None:
    global sharing_refused
    sharing_refused = f"{type(exc).__name__}: {exc}"


@atexit.register
def _close() -> None:
    if _server is not None and _server.owner == os.getpid():
        _server.close()


def prestart() -> None:
    """Connect to (or start) the fork server now, so the first lab start need not wait for its imports."""
    if SUPPORTED:
        try:
            fork_server()
        except OSError:  # the first start() tries again, and falls back to running the command
            pass

