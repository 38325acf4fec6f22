"""The fork server process: start lab servers in tens of milliseconds, forked from a process that has imported them.

Importing FastAPI, uvicorn, PyJWT and cryptography takes a lab server process about half a second. A *fork
server* is a small process that imports all of that once and then waits; every lab server is a ``fork()`` of
it, which has everything imported already and only builds its own app, store and keys.

One fork server serves every Python process of the same user running the same interpreter and the same
labserver code (``labserver.launch.sharedforkserver`` finds it, or starts it, and says what is checked before it is
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

This module is the fork server process (``python -m labserver.launch.forkserver``): its loop of requests and
exits. What it loads and what each child becomes: forkchild; the messages: forkwire; the starting
program's side: forkclient.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import selectors
import socket
import sys
import threading
import time
from pathlib import Path

from labserver.launch import sharedforkserver
from labserver.launch.forkchild import preload, serve_child
from labserver.launch.forkwire import MAX_MESSAGE, STATUS, readable, valid


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
            message, fds, _flags, _addr = socket.recv_fds(client, MAX_MESSAGE, 4)
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
        if len(fds) != 4 or not valid(request):
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
            serve_child(request, lifeline, ready, log)
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
            os.write(status, STATUS.pack(os.waitstatus_to_exitcode(wait_status)))
        except OSError:  # nobody is asking any more
            pass
        os.close(status)

    def _retire(self) -> bool:
        """Idle long enough: remove our socket (under the lock, so nobody starts another meanwhile), then go.

        A client that connected just before the socket went is still served; the next idle period ends it.
        """
        with sharedforkserver.locked_for_retirement(Path(self.path)):
            _unlink_if_ours(self.path, self.inode)
            if readable(self.listener, 0):
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
    parser = argparse.ArgumentParser(prog="labserver.launch.forkserver")
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
    preload()
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
