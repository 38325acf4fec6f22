"""Start lab servers in their own processes, for notebooks and tests, and drive them through a handle.

    with labserver.start(frozen_at="2030-01-01T09:00:00Z") as lab:
        requests.get(lab.url + "/api/hello")
        lab.clock.advance(minutes=31)

A server never outlives the Python process that started it: it watches a pipe from its parent and
exits when the pipe closes, which happens even when the parent is killed with SIGKILL.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import requests
import requests.auth

from labserver.accounts.initial import configured
from labserver.control.clock import parse_instant
from labserver.control.ledger import HEADER as LEDGER_HEADER
from labserver.control.settings import Settings
from labserver.launch import forkclient
from labserver.launch.cli import to_argv
from labserver.launch.ready import parse_ready_line
from labserver.storage.files import write_private

_running: set["LabServer"] = set()
_RUNNING_STATE = ("_running",)  # the servers started (a course grader's seal leaves it be)
CONTROL_EVENT = "labserver.control"  # raised after each control a lab obeyed through its handle


def start(*, share_keys_with: "LabServer | None" = None, workdir: str | None = None,
          ready_timeout: float = 15.0, tls=None, challenge: bool | str = False, **settings) -> "LabServer":
    """Start a lab server on a free loopback port and return its handle once it answers.

    ``settings`` are Settings fields (``algorithm="RS256"``, ``access_ttl=60``, ``frozen_at=...``);
    ``share_keys_with`` gives this server another one's signing keys but its own store.
    ``tls`` serves HTTPS: anything with ``cert``, ``key`` and ``ca`` paths (``coursekit.labtools.tls.LocalPKI``);
    the handle's own requests then verify the server against ``tls.ca``.
    ``challenge`` starts a black-box challenge (labserver.control.challenge): True for a seed the server
    draws and keeps, or a seed of your own (an instructor's, the same challenge for a whole class).
    """
    if tls is not None:
        settings.update(tls_cert=tls.cert, tls_key=tls.key)
    if isinstance(settings.get("frozen_at"), str):
        settings["frozen_at"] = parse_instant(settings["frozen_at"])
    if "users" in settings:
        settings["users"] = tuple(tuple(u) for u in settings["users"])
    if isinstance(settings.get("flaws"), str):
        settings["flaws"] = (settings["flaws"],)
    if "flaws" in settings:
        settings["flaws"] = tuple(settings["flaws"])
    for name in ("trusted_proxies", "server_names"):
        if name in settings:
            settings[name] = tuple(settings[name])
    if share_keys_with:
        # Two replicas of one service: same keys, same issuer, separate stores.
        settings.setdefault("issuer", share_keys_with.settings.issuer_id)
    config = Settings(port=0, **settings)  # validated here, before a folder or a process is spent on it
    owned = workdir is None
    folder = Path(workdir or tempfile.mkdtemp(prefix="labserver-"))
    config = config.replace(
        # The lab secret also reaches us on the ready line; the file is for the owner's terminal.
        lab_secret_file=settings.get("lab_secret_file", str(folder / "lab-secret")),
        db=settings.get("db", str(folder / "store.sqlite3")),
        keys=settings.get("keys", share_keys_with.keys_path if share_keys_with else str(folder / "keys.json")))
    if challenge is not False:
        # The seed goes in a private file the server deletes: never on a command line or in an environment.
        seed = "" if challenge is True else str(challenge)
        path = folder / "challenge"
        write_private(path, seed)
        config = config.replace(challenge_file=str(path))
    if config.users:
        # Passwords on a command line are visible to every local user (ps): hand them over in a private file.
        config = config.replace(users=(), users_file=_users_file(folder, configured(config)))
    log_path = folder / "server.log"
    with open(log_path, "ab") as log:
        process = _spawn(
            [sys.executable, "-m", "labserver", "--ready-line", "--watch-stdin", *to_argv(config),
             *(["--remove-on-exit", str(folder)] if owned else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            # Own session: a Ctrl-C meant for the notebook or test run does not hit the server first.
            start_new_session=True)
    ready = _read_ready_line(process, ready_timeout)
    if ready is None:
        process.kill()
        process.wait()
        tail = log_path.read_text(errors="replace")[-2000:]
        if owned:
            shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"lab server did not start (exit code {process.returncode}):\n{tail}")
    server = LabServer(process, ready["url"], config.replace(port=ready["port"]), folder, owned, log_path,
                       lab_secret=ready["lab_secret"])
    if tls is not None:
        server.http.verify = tls.ca
    if challenge is not False:  # the server chose the algorithm its hidden flaw needs
        server.settings = server.settings.replace(algorithm=server.call("GET", "/lab/settings")["algorithm"])
    _running.add(server)
    return server


def _users_file(folder: Path, accounts) -> str:
    if any("\n" in field or "\r" in field for account in accounts for field in account):
        raise ValueError("account names and passwords cannot contain line breaks")
    path = folder / "users.txt"
    write_private(path, "".join(f"{name}:{password}:{role}\n" for name, password, role in accounts))
    return str(path)


def _spawn(command: list[str], *, stderr, **popen_options) -> "subprocess.Popen | forkclient.ForkedProcess":
    """Run ``python -m labserver ...``: forked from the pre-imported fork server where there is one.

    A forked server gets what the command would: a lifeline on stdin, its ready line on stdout, its log on
    stderr, a session of its own (see labserver.launch.forkserver).
    """
    if forkclient.SUPPORTED:
        try:
            return forkclient.fork_server().spawn(command[3:], stderr.fileno())
        except OSError:  # the fork server has gone (killed?): run this one as a command; the next call starts a new one
            pass
    return subprocess.Popen(command, stderr=stderr, **popen_options)


def _read_ready_line(process: subprocess.Popen, timeout: float) -> dict | None:
    result: dict = {}

    def read() -> None:
        details = parse_ready_line(process.stdout.readline().decode(errors="replace"))
        if details is not None:
            result.update(details)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if result:  # the ready line is all the server ever writes to this pipe
        process.stdout.close()
    return result or None


class LabServer:
    """A running lab server: its URL, its clock, its audit log and counters, and how to stop it."""

    def __init__(self, process, url: str, settings: Settings, folder: Path, owns_folder: bool,
                 log_path: Path, *, lab_secret: str) -> None:
        self.process = process
        self.url = url
        self.settings = settings
        self.folder = folder
        self._owns_folder = owns_folder
        self.log_path = log_path
        self.http = requests.Session()
        # Loopback only: no proxies, no CA bundles from the environment (they override verify=).
        self.http.trust_env = False
        # Every lab control wants the lab's secret (labserver.web.routes.lab); only this handle was told it.
        self.lab_secret = lab_secret
        self.http.auth = _LabSecret(lab_secret)
        self.http.hooks["response"].append(self._numbered)
        self.clock = RemoteClock(self)
        self.flaws = RemoteFlaws(self)

    def _numbered(self, response, *args, **kwargs) -> None:
        """Tell the process's audit hooks (PEP 578) each control this lab obeyed for this handle, with the number of
        changing ones so far (labserver.control.ledger): a course grader checks that no other code changed the lab."""
        number = response.headers.get(LEDGER_HEADER)
        if number is not None and number.isdigit():
            sys.audit(CONTROL_EVENT, self, response.request.method, response.url, int(number), self.lab_secret)

    @property
    def port(self) -> int:
        return self.settings.port

    @property
    def db_path(self) -> str:
        return self.settings.db

    @property
    def keys_path(self) -> str:
        return self.settings.keys

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def call(self, method: str, path: str, **kwargs):
        """Send a request to this server and return the decoded JSON answer (raising on HTTP errors)."""
        response = self.http.request(method, self.url + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def audit(self, since: int = 0) -> list[dict]:
        """The audit log's events after event number ``since``."""
        return self.call("GET", "/lab/audit", params={"since": since})

    def stats(self) -> dict:
        """Requests, store reads and writes per kind of request."""
        return self.call("GET", "/lab/stats")

    def clear_stats(self) -> None:
        self.call("DELETE", "/lab/stats")

    def table(self, name: str) -> list[dict]:
        """The rows of a store table: users, sessions, refresh_families, refresh_tokens, denylist."""
        return self.call("GET", f"/lab/store/{name}")

    def rotate_keys(self) -> dict:
        return self.call("POST", "/lab/keys/rotate")

    def rotate_keys_now(self) -> dict:
        """Emergency rotation: a new signing key, every old one dropped at once (their tokens die)."""
        return self.call("POST", "/lab/keys/rotate-now")

    def challenge(self) -> dict:
        """A challenge lab's state: the flaws it may have, answers left, whether it is solved."""
        return self.call("GET", "/lab/challenge")

    def answer_challenge(self, flaw: str, token: str) -> dict:
        """Name the hidden flaw and give a forged admin token proving it: {"correct": ..., "attempts_left": ...}."""
        return self.call("POST", "/lab/challenge", json={"flaw": flaw, "token": token})

    def reset(self) -> None:
        """Forget sessions, tokens, audit and counters; users and flaws back as the server started."""
        self.call("POST", "/lab/reset")

    @contextlib.contextmanager
    def flaw(self, *names: str):
        """``with lab.flaw("alg-none"): ...``: these DELIBERATELY VULNERABLE flaws on inside, as before after."""
        before = self.flaws.enabled()
        self.flaws.set([*before, *names])
        try:
            yield self
        finally:
            self.flaws.set(before)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (closing its lifeline pipe) and remove its files if start() made them."""
        self._cut_lifeline()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        _running.discard(self)
        if self._owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _cut_lifeline(self) -> None:
        self.http.close()
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()

    def __enter__(self) -> "LabServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LabServer {self.url} {self.settings.algorithm} {state}>"


class _LabSecret(requests.auth.AuthBase):
    """Send the lab secret with requests to the lab controls, and only there (never with API calls)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if urlsplit(request.url).path.startswith("/lab/"):
            request.headers["Lab-Secret"] = self._secret
        return request


class RemoteClock:
    """The lab clock of a running server, driven over its /lab/clock controls."""

    def __init__(self, server: LabServer) -> None:
        self._server = server

    def state(self) -> dict:
        return self._server.call("GET", "/lab/clock")

    def now(self) -> float:
        """The server's lab time, as Unix seconds."""
        return self.state()["now"]

    def advance(self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0) -> dict:
        total = seconds + 60 * minutes + 3600 * hours + 86400 * days
        return self._server.call("POST", "/lab/clock/advance", json={"seconds": total})

    def set(self, at: str | float, frozen: bool | None = None) -> dict:
        body = {"at": at} if frozen is None else {"at": at, "frozen": frozen}
        return self._server.call("POST", "/lab/clock/set", json=body)

    def freeze(self) -> dict:
        return self._server.call("POST", "/lab/clock/freeze")

    def run(self) -> dict:
        return self._server.call("POST", "/lab/clock/run")


class RemoteFlaws:
    """The DELIBERATELY VULNERABLE flaws of a running server (lesson 06), switched over /lab/flaws."""

    def __init__(self, server: LabServer) -> None:
        self._server = server

    def enabled(self) -> list[str]:
        return self._server.call("GET", "/lab/flaws")["enabled"]

    def available(self) -> dict[str, str]:
        """Every flaw the server knows, with what it does wrong."""
        return self._server.call("GET", "/lab/flaws")["available"]

    def set(self, names) -> list[str]:
        """Switch exactly these flaws on and all others off; return the names now on."""
        return self._server.call("PUT", "/lab/flaws", json=sorted(set(names)))["enabled"]

    def enable(self, *names: str) -> list[str]:
        return self.set([*self.enabled(), *names])

    def disable(self, *names: str) -> list[str]:
        return self.set([n for n in self.enabled() if n not in names])


@atexit.register
def _stop_all() -> None:
    # Tell every server first, then wait: they exit side by side, not one after another.
    servers = list(_running)
    for server in servers:
        server._cut_lifeline()
    for server in servers:
        server.stop()
