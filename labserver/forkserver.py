"""Start lab servers in tens of milliseconds: fork them from a process that has already imported the server.

Importing FastAPI, uvicorn, PyJWT and cryptography takes a lab server process about half a second. The
first ``labserver.start()`` in a Python process therefore starts a *fork server*: a small process that
imports all of that once and then waits. Every lab server after that is a ``fork()`` of it, which has
everything imported already and only builds its own app, store and keys.

Each forked server is exactly what ``python -m labserver`` would have been:
- its own process, its own session (a Ctrl-C meant for the notebook does not reach it), its own store;
- standard input is a pipe from the program that asked for it, so it exits when that program ends, even
  by SIGKILL (``--watch-stdin``); standard output carries its ready line; standard error goes to its log.

The fork server itself holds nothing a server should inherit: no threads, no open store, no event loop,
and no standard input of the program that started it. It exits when that program does (its control
socket closes) and never kills its servers: each one watches its own lifeline. It reports each server's
exit status back, so the handle can say how its server ended, as with a child process of its own.

Python's ``multiprocessing`` forkserver does the same in general, but re-imports the starting program's
``__main__`` in every child (in a Jupyter kernel: ipykernel), which costs more than it saves.
Linux only (it needs ``os.pidfd_open``); elsewhere ``labserver.start()`` runs ``python -m labserver``.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading

SUPPORTED = sys.platform == "linux" and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")

_MAX_REQUEST = 64 * 1024  # an argv of settings is a few hundred bytes
_ANSWER_TIMEOUT = 60.0  # the first answer waits for the imports: seconds on a busy machine, never a minute
_STATUS = struct.Struct("i")


# --- the program that starts servers --------------------------------------------------------------


class ForkedProcess:
    """A forked lab server, driven like the ``subprocess.Popen`` of ``python -m labserver`` it replaces.

    ``stdin`` is the write end of the server's lifeline; closing it tells the server to exit. ``stdout``
    carries its ready line. The exit status comes from the fork server, which is its parent; should the fork
    server be gone, a pidfd still tells when the server ends (its status is then unknown: -1).
    """

    def __init__(self, pid: int, stdin, stdout, status_fd: int) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.returncode: int | None = None
        self.args = [sys.executable, "-m", "labserver", "(forked)"]
        self._status_fd = status_fd
        self._pidfd = os.pidfd_open(pid)  # this very process, whatever later reuses its pid
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
                if not _readable(self._status_fd, timeout):
                    return None
                data = os.read(self._status_fd, _STATUS.size)
                os.close(self._status_fd)
                self._status_fd = None
                if len(data) == _STATUS.size:
                    return self._ended(_STATUS.unpack(data)[0])
            # The fork server has gone before its child: wait for the child itself.
            return self._ended(-1) if _readable(self._pidfd, timeout) else None

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


def _readable(fd: int, timeout: float | None) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        return bool(selector.select(timeout))


class ForkServer:
    """The connection to one fork server process, shared by every thread of the starting program."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.settimeout(_ANSWER_TIMEOUT)
        self._sock = ours
        self._lock = threading.Lock()
        self.owner = os.getpid()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labserver.forkserver", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            # Nothing of the starting program's: not its stdin (a notebook kernel's), not its output streams.
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        theirs.close()

    @property
    def alive(self) -> bool:
        return self.owner == os.getpid() and self._sock.fileno() != -1 and self.process.poll() is None

    def spawn(self, argv: list[str], log_fd: int) -> ForkedProcess:
        """Fork a server running ``python -m labserver ARGV``; its stderr goes to ``log_fd``."""
        lifeline_r, lifeline_w = os.pipe()
        ready_r, ready_w = os.pipe()
        status_r, status_w = os.pipe()
        try:
            with self._lock:
                socket.send_fds(self._sock, [json.dumps(argv).encode()],
                                [lifeline_r, ready_w, log_fd, status_w])
                try:
                    reply = self._sock.recv(_MAX_REQUEST)
                except TimeoutError:
                    # A late answer would be read as the next request's: give this fork server up entirely.
                    self._sock.close()
                    raise
        except OSError:
            for fd in (lifeline_w, ready_r, status_r):
                os.close(fd)
            raise
        finally:
            for fd in (lifeline_r, ready_w, status_w):  # the fork server and the server hold them now
                os.close(fd)
        if not reply:
            for fd in (lifeline_w, ready_r, status_r):
                os.close(fd)
            raise OSError("the lab fork server has exited")
        pid = json.loads(reply)["pid"]
        return ForkedProcess(pid, os.fdopen(lifeline_w, "wb", buffering=0), os.fdopen(ready_r, "rb"), status_r)

    def close(self) -> None:
        """Let the fork server exit (servers it forked keep running until their own lifelines close)."""
        self._sock.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_server: ForkServer | None = None
_server_lock = threading.Lock()


def fork_server() -> ForkServer:
    """The fork server of this process, started on first use (and again if it has gone)."""
    global _server
    with _server_lock:
        if _server is None or not _server.alive:
            if _server is not None and _server.owner == os.getpid():
                _server.close()
            _server = ForkServer()
        return _server


@atexit.register
def _close() -> None:
    if _server is not None and _server.owner == os.getpid():
        _server.close()


def prestart() -> None:
    """Start the fork server now, in the background, so the first lab start need not wait for its imports."""
    if SUPPORTED:
        fork_server()


# --- the fork server process ----------------------------------------------------------------------


def _preload() -> None:
    """Import everything a lab server imports, including what uvicorn imports only once it runs."""
    import uvicorn

    import labserver.cli  # noqa: F401
    import labserver.serve  # noqa: F401

    async def nothing(scope, receive, send) -> None:  # an ASGI app, only to let uvicorn load its parts
        pass

    from labserver.passwords import dummy_hash

    dummy_hash()  # made once here, inherited by every server
    config = uvicorn.Config(nothing, log_level="warning", access_log=False, lifespan="off")
    config.load()  # imports the HTTP protocol (h11 or httptools) and the lifespan class
    if hasattr(config, "get_loop_factory"):
        config.get_loop_factory()  # imports the event loop (asyncio or uvloop)


def _serve_child(argv: list[str], lifeline: int, ready: int, log: int, inherited: list[int]) -> None:
    """Become ``python -m labserver ARGV`` in a freshly forked child; never returns."""
    code = 1
    try:
        os.setsid()
        os.dup2(lifeline, 0)
        os.dup2(ready, 1)
        os.dup2(log, 2)
        for fd in {lifeline, ready, log, *inherited}:
            if fd > 2:
                os.close(fd)
        import atexit

        atexit._clear()  # the fork server's exit handlers are not ours
        from labserver.cli import main

        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            atexit._run_exitfuncs()  # e.g. remove the temporary folder, as a normal exit would
    except BaseException:  # noqa: BLE001 - whatever happens, report it in the log and leave
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def main(control_fd: int) -> None:
    _preload()
    # Keep the garbage collector off what is already loaded: it would write to every object's header in
    # each forked server, turning shared memory pages into copies (slower starts, more memory).
    gc.freeze()
    control = socket.socket(fileno=control_fd)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, None)
    children: dict[int, tuple[int, int]] = {}  # pidfd -> (pid, status write end)
    while True:
        for key, _events in selector.select():
            if key.data is None:  # a request, or the starting program has gone
                try:
                    message, fds, _flags, _addr = socket.recv_fds(control, _MAX_REQUEST, 4)
                except OSError:
                    message, fds = b"", []
                if not message:
                    return  # servers we forked keep running until their own lifelines close
                lifeline, ready, log, status = fds
                assert threading.active_count() == 1, "never fork with threads running"
                inherited = [control.fileno(), selector.fileno(), status,
                             *(fd for item in children.items() for fd in (item[0], item[1][1]))]
                pid = os.fork()
                if pid == 0:
                    _serve_child(json.loads(message), lifeline, ready, log, inherited)
                for fd in (lifeline, ready, log):
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                children[pidfd] = (pid, status)
                selector.register(pidfd, selectors.EVENT_READ, pid)
                control.send(json.dumps({"pid": pid}).encode())
            else:  # a server has exited: reap it and tell whoever started it how it ended
                pidfd = key.fd
                pid, status = children.pop(pidfd)
                selector.unregister(pidfd)
                os.close(pidfd)
                _pid, wait_status = os.waitpid(pid, 0)
                try:
                    os.write(status, _STATUS.pack(os.waitstatus_to_exitcode(wait_status)))
                except OSError:  # nobody is asking any more
                    pass
                os.close(status)


if __name__ == "__main__":
    main(int(sys.argv[1]))
