"""Start lab servers in tens of milliseconds: fork them from a process that has already imported the server.

Importing FastAPI, uvicorn, PyJWT and cryptography takes a lab server process about half a second. A *fork
server* is a small process that imports all of that once and then waits; every lab server is a ``fork()`` of
it, which has everything imported already and only builds its own app, store and keys.

One fork server serves every Python process of the same user running the same interpreter and the same
labserver code (``labserver.sharedforkserver`` finds it, or starts it, and says what is checked before it is
trusted). So only the first notebook kernel, test worker or script pays the imports; every later one's first
lab starts as fast as any later lab. Should sharing be impossible or unsafe, a process falls back to a fork
server of its own (``LABSERVER_FORKSERVER=private`` asks for that), and without fork servers at all (not
Linux: they need ``os.pidfd_open``), ``labserver.start()`` runs ``python -m labserver``.

Each forked server is exactly what ``python -m labserver`` run by the caller would have been:
- its own process, its own session (a Ctrl-C meant for the notebook does not reach it), its own store;
- the caller's settings, working directory, environment and umask as they are at ``start()``: they come
  with the request, not from whichever process happened to start the fork server;
- standard input is a pipe whose write end only the caller holds (its read end is passed over the socket
  with SCM_RIGHTS; the fork server closes its copy at once), so it exits when the caller ends, even by
  SIGKILL (``--watch-stdin``); standard output carries its ready line; standard error goes to its log.

The fork server holds nothing a server should inherit: no threads, no open store, no event loop, no
standard input of anyone's, and each child closes every descriptor but its own three. It reports each
server's exit status back through a pipe per server, so the handle can say how its server ended, as with a
child process of its own; with the pid it also hands over a pidfd, which tells when the server ends even if
the fork server is gone (the status is then unknown: -1). It never kills its servers: each one watches its
own lifeline.

Lifetime. A fork server of one process exits when that process does (its socket closes). The shared fork
server exits once it has had no client connected and no live server of its own for ``LABSERVER_FORKSERVER_IDLE``
seconds (default 300): a kernel keeps it alive while it runs, the next kernel of a test run or of a learner
moving on to the next notebook finds it still there, and it is gone a few minutes after the last. Nothing it
forked outlives its starter, whatever the fork server's own lifetime.

Python's ``multiprocessing`` forkserver does the same in general, but re-imports the starting program's
``__main__`` in every child (in a Jupyter kernel: ipykernel), which costs more than it saves.
"""

from __future__ import annotations

import argparse
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
import time
from pathlib import Path

from labserver import sharedforkserver

SUPPORTED = sys.platform == "linux" and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")
MODE_ENV = "LABSERVER_FORKSERVER"  # "shared" (default) or "private": a fork server of this process alone

_MAX_REQUEST = 1024 * 1024  # settings are a few hundred bytes; the caller's environment a few kilobytes
_ANSWER_TIMEOUT = 60.0  # the first answer waits for the imports: seconds on a busy machine, never a minute
_STATUS = struct.Struct("i")


# --- the program that starts servers --------------------------------------------------------------


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


def _readable(fd, timeout: float | None) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        return bool(selector.select(timeout))


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
            [sys.executable, "-m", "labserver.forkserver", "--fd", str(theirs.fileno())],
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
            return not self._greeted or (self._sock.fileno() != -1 and not _readable(self._sock, 0))

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
            message, fds, _flags, _addr = socket.recv_fds(self._sock, _MAX_REQUEST, 1)
        except TimeoutError:
            # A late answer would be read as the next request's: give this fork server up entirely.
            self._sock.close()
            raise
        if not message:
            self._sock.close()
            raise ConnectionResetError("the lab fork server has exited")
        answer = json.loads(message)
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


def _serve_child(request: dict, lifeline: int, ready: int, log: int) -> None:
    """Become ``python -m labserver ARGV``, run by the caller, in a freshly forked child; never returns."""
    code = 1
    try:
        os.setsid()
        os.dup2(lifeline, 0)
        os.dup2(ready, 1)
        os.dup2(log, 2)
        # Nothing of the fork server's: not its sockets (other callers'), not other servers' status pipes.
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        # The caller's working directory, umask and environment, as they were when it called start().
        if request["cwd"] is not None:
            os.chdir(request["cwd"])
        if request["umask"] is not None:
            os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        import atexit

        atexit._clear()  # the fork server's exit handlers are not ours
        from labserver.cli import main

        try:
            main(request["argv"])
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


def _valid(request) -> bool:
    return (isinstance(request, dict)
            and isinstance(request.get("argv"), list) and all(isinstance(a, str) for a in request["argv"])
            and (request.get("cwd") is None or isinstance(request["cwd"], str))
            and (request.get("umask") is None or isinstance(request["umask"], int))
            and isinstance(request.get("env"), dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in request["env"].items()))


class _Serving:
    """The fork server's loop: requests from its clients, exits of its children, and its own retirement."""

    def __init__(self, *, clients: list[socket.socket], listener: socket.socket | None, path: str | None,
                 inode: int | None, idle: float) -> None:
        self.selector = selectors.DefaultSelector()
        self.listener, self.path, self.inode, self.idle = listener, path, inode, idle
        self.clients: set[socket.socket] = set()
        self.children: dict[int, tuple[int, int]] = {}  # pidfd -> (pid, status write end)
        if listener is not None:
            self.selector.register(listener, selectors.EVENT_READ, "listen")
        for client in clients:
            self._welcome(client)

    def run(self) -> None:
        quiet_since = time.monotonic()
        while True:
            timeout = None
            if self.listener is not None and not self.clients and not self.children:
                timeout = max(0.0, quiet_since + self.idle - time.monotonic())
            events = self.selector.select(timeout)
            if not events and timeout is not None and self._retire():
                return
            for key, _events in events:
                if key.data == "listen":
                    self._accept()
                elif key.data == "client":
                    if not self._request(key.fileobj) and self.listener is None:
                        return  # a fork server of one process: that process has gone
                else:
                    self._reap(key.fd, key.data)
            if self.clients or self.children:
                quiet_since = time.monotonic()

    def _welcome(self, client: socket.socket) -> None:
        client.setblocking(True)
        self.clients.add(client)
        self.selector.register(client, selectors.EVENT_READ, "client")
        client.send(json.dumps({"pid": os.getpid()}).encode())

    def _accept(self) -> None:
        try:
            client, _addr = self.listener.accept()
        except OSError:
            return
        # The folder is ours alone, so only we can connect; refuse anyone else all the same.
        if sharedforkserver.peer_uid(client) != os.geteuid():
            client.close()
            return
        try:
            self._welcome(client)
        except OSError:
            self._drop(client)

    def _drop(self, client: socket.socket) -> None:
        if client in self.clients:
            self.clients.discard(client)
            self.selector.unregister(client)
        client.close()

    def _request(self, client: socket.socket) -> bool:
        """Serve one request; False once the client has gone."""
        fds: list[int] = []
        try:
            message, fds, _flags, _addr = socket.recv_fds(client, _MAX_REQUEST, 4)
        except OSError:
            message = b""
        if not message:
            for fd in fds:
                os.close(fd)
            self._drop(client)
            return False
        try:
            request = json.loads(message)
        except ValueError:
            request = None
        if len(fds) != 4 or not _valid(request):
            for fd in fds:
                os.close(fd)
            self._answer(client, {"error": "expected settings, working directory, environment, umask and four "
                                           "descriptors"}, [])
            return True
        lifeline, ready, log, status = fds
        assert threading.active_count() == 1, "never fork with threads running"
        try:
            pid = os.fork()
        except OSError as exc:  # out of processes or memory: this caller falls back; the others are still served
            for fd in fds:
                os.close(fd)
            self._answer(client, {"error": f"fork failed: {exc}"}, [])
            return True
        if pid == 0:
            _serve_child(request, lifeline, ready, log)
        # The lifeline's read end goes at once: only the caller's write end keeps the server alive.
        for fd in (lifeline, ready, log):
            os.close(fd)
        pidfd = os.pidfd_open(pid)  # before anything could reap it: this pidfd is this very child
        self.children[pidfd] = (pid, status)
        self.selector.register(pidfd, selectors.EVENT_READ, pid)
        self._answer(client, {"pid": pid}, [pidfd])
        return True

    def _answer(self, client: socket.socket, answer: dict, fds: list[int]) -> None:
        try:
            socket.send_fds(client, [json.dumps(answer).encode()], fds)
        except OSError:  # the client has gone meanwhile; the server it asked for follows its lifeline
            self._drop(client)

    def _reap(self, pidfd: int, pid: int) -> None:
        """A server has exited: reap it and tell whoever started it how it ended."""
        _pid, status = self.children.pop(pidfd)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        _pid, wait_status = os.waitpid(pid, 0)
        try:
            os.write(status, _STATUS.pack(os.waitstatus_to_exitcode(wait_status)))
        except OSError:  # nobody is asking any more
            pass
        os.close(status)

    def _retire(self) -> bool:
        """Idle long enough: remove our socket (under the lock, so nobody starts another meanwhile), then go.

        A client that connected just before the socket went is still served; the next idle period ends it.
        """
        with sharedforkserver.locked_for_retirement(Path(self.path)):
            _unlink_if_ours(self.path, self.inode)
            if _readable(self.listener, 0):
                self._accept()
                return not self.clients
        return True


def _unlink_if_ours(path: str | None, inode: int | None) -> None:
    """Remove our socket file, unless a successor's has replaced it."""
    try:
        if path is not None and os.stat(path).st_ino == inode:
            os.unlink(path)
    except FileNotFoundError:
        pass


def _leave_unserved(options: argparse.Namespace) -> None:
    """Started for other code than ours: take our name away, serve no one (clients fall back)."""
    if options.socket is not None:
        with sharedforkserver.locked_for_retirement(Path(options.socket)):
            _unlink_if_ours(options.socket, options.inode)


def _arguments(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="labserver.forkserver")
    parser.add_argument("--fd", type=int, help="a connected socket to one process (a fork server of its own)")
    parser.add_argument("--listen-fd", type=int, help="a listening socket: the shared fork server")
    parser.add_argument("--socket", help="the listening socket's path, removed on retirement")
    parser.add_argument("--inode", type=int, help="its inode, to remove it only while it is still ours")
    parser.add_argument("--key", help="the code fingerprint the socket is named after")
    parser.add_argument("--idle", type=float, default=sharedforkserver.DEFAULT_IDLE)
    return parser.parse_args(args)


def main(args: list[str]) -> None:
    options = _arguments(args)
    if options.key is not None and sharedforkserver.code_fingerprint_now() != options.key:
        return _leave_unserved(options)  # the starter's code is not the code on disk
    _preload()
    if options.key is not None and sharedforkserver.code_fingerprint_now() != options.key:
        return _leave_unserved(options)  # the code changed while we imported it
    # Keep the garbage collector off what is already loaded: it would write to every object's header in
    # each forked server, turning shared memory pages into copies (slower starts, more memory).
    gc.freeze()
    if options.listen_fd is not None:
        listener = socket.socket(fileno=options.listen_fd)
        _Serving(clients=[], listener=listener, path=options.socket, inode=options.inode, idle=options.idle).run()
    else:
        _Serving(clients=[socket.socket(fileno=options.fd)], listener=None, path=None, inode=None, idle=0).run()


if __name__ == "__main__":
    main(sys.argv[1:])
