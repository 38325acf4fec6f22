"""Run a lab server with uvicorn on a socket we bind first, so port 0 works and the issuer knows its URL."""

from __future__ import annotations

import atexit
import os
import socket
import sys
import threading
from pathlib import Path

import uvicorn

from labserver.accounts.initial import change_lines, login_lines
from labserver.app import create_app
from labserver.control.settings import Settings
from labserver.launch import sharedforkserver
from labserver.launch.ready import ready_line as announce
from labserver.storage.files import write_private


class _Server(uvicorn.Server):
    """A uvicorn server that calls back once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready, on_exit) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self._on_exit = on_exit

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_ready()

    async def _serve(self, sockets=None) -> None:
        # Here, not after run(): on SIGTERM uvicorn re-raises the signal once serving ends, and the process
        # dies of it before any later line or exit handler could remove our files.
        try:
            await super()._serve(sockets)
        finally:
            self._on_exit()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP. Without it every
    # response after the first on a keep-alive connection waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, *, ready_line: bool = False, watch_stdin: bool = False) -> None:
    """Serve until interrupted; with ready_line, announce the port on stdout for the process that started us."""
    sock = bind(settings.host, settings.port)
    settings = settings.replace(port=sock.getsockname()[1])
    app = create_app(settings)
    lab = app.state.lab
    secret_file = write_lab_secret(settings, lab.lab_secret)
    atexit.register(lab.close)  # the files a lab leaves (its secret, a flaw's key folder) go on any exit
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off",
        # Without it, shutdown waits for clients that keep connections alive (forever, over TLS).
        timeout_graceful_shutdown=1,
        # uvicorn trusts X-Forwarded-For from loopback by default: on a shared machine every local user is
        # "loopback" and could name a new client address with each guess. Only named proxies are believed.
        proxy_headers=bool(settings.trusted_proxies), forwarded_allow_ips=list(settings.trusted_proxies) or None,
        ssl_certfile=settings.tls_cert, ssl_keyfile=settings.tls_key)

    def on_ready() -> None:
        banner(settings, file=sys.stderr if ready_line else sys.stdout, lab=app.state.lab, secret_file=secret_file)
        if ready_line:
            # The pipe to the program that started us is its alone: the lab secret goes to it here.
            print(announce({"url": settings.base_url, "port": settings.port, "lab_secret": lab.lab_secret}),
                  flush=True)
            # Everything printed from now on goes to the log (stderr), not to a pipe nobody reads.
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    server = _Server(config, on_ready, on_exit=atexit._run_exitfuncs)
    if watch_stdin:
        threading.Thread(target=_exit_when_stdin_closes, args=(app.state.lab,), daemon=True).start()
    server.run(sockets=[sock])


def write_lab_secret(settings: Settings, secret: str) -> Path | None:
    """Write the lab secret where its owner, and nobody else, can read it (0600); removed when we exit."""
    if not settings.lab_controls or settings.lab_secret_file == "":
        return None
    try:
        if settings.lab_secret_file is None:  # the owner's private folder (checked: ours, 0700, no symlink)
            path = sharedforkserver.folder() / f"lab-{settings.port}.secret"
        else:
            path = Path(settings.lab_secret_file).absolute()
        write_private(path, secret + "\n")
    except OSError as exc:
        raise SystemExit(f"labserver: cannot keep the lab secret where only you can read it: {exc} "
                         f"(name a file in a folder of yours with --lab-secret-file)") from None
    atexit.register(_remove_if_unchanged, path, os.stat(path).st_ino)  # on SIGTERM too: see _Server
    return path


def _remove_if_unchanged(path: Path, inode: int) -> None:
    # A later lab on the same port may have written its own file meanwhile: leave that one.
    try:
        if os.stat(path).st_ino == inode:
            path.unlink()
    except FileNotFoundError:
        pass


def _exit_when_stdin_closes(lab) -> None:
    # Our parent holds the other end of stdin. When it exits, even by SIGKILL, the pipe closes.
    while sys.stdin.buffer.read(1024):
        pass
    # The program that started this lab is done with it: leave now. uvicorn's graceful shutdown would take
    # 0.1-0.2 s (it polls and sleeps in steps of 0.1 s), and a notebook stops many labs. Nothing is lost:
    # every change is a committed SQLite transaction, closing the store waits for one in progress, and key
    # files are replaced atomically. Then the exit handlers (e.g. removing the lab's temporary folder).
    atexit._run_exitfuncs()  # closes the lab (labserver.lab.Lab.close), removes its files
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def banner(settings: Settings, file=sys.stdout, *, lab, secret_file: Path | None = None) -> None:
    """Print where the server is and every account that can log in (demo passwords are public; others are not shown)."""
    lines = [f"JWT course lab server on {settings.base_url}  ({settings.algorithm}, "
             f"access tokens {settings.access_ttl:g} s)"]
    lines += login_lines(lab.users, lab.seeded, lab.demo) + change_lines(lab.changed)
    if settings.lab_controls:
        where = (f"the contents of {secret_file} (readable by you alone)" if secret_file
                 else "held by the program that started this server")
        lines.append(f"  lab controls: {settings.base_url}/lab/clock, with header Lab-Secret: {where}")
    if settings.seed is not None:
        lines.append("  WARNING: seeded randomness (lab only): every secret is predictable")
    if not settings.page_csp and settings.lab_controls:
        lines.append("  WARNING: DELIBERATELY VULNERABLE lab page: served without its Content-Security-Policy")
    if settings.flaws:
        lines.append(f"  WARNING: DELIBERATELY VULNERABLE lab flaws on: {', '.join(settings.flaws)}")
    print("\n".join(lines), file=file, flush=True)
