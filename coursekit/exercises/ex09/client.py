"""Capstone task (a): a client that logs in once, refreshes with rotation, survives a race, and recovers.

The learner writes ``TokenClient(base_url, username, password)`` with ``get(path) -> requests.Response``.
Each behaviour runs it against a fresh lab (refresh reuse interval 0: every reuse is detected) and judges
it by what the server saw, from its audit log: password logins, refreshes, reuse detected, throttling.
While a behaviour runs, requests' transport is watched (``_TokenTraffic``): it caps the token requests a
client may make (a loop ends as a failed behaviour, not a hang) and, for the race, holds the first refresh
until a second one arrives, so that a client without a guard reliably spends its refresh token twice.
A thread that went over the budget stays stopped: if the client swallows the exception and loops on, its
requests fail before reaching the network, even after the behaviour ended (requests' ``send`` stays
wrapped by a pass-through guard for that reason).
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from urllib.parse import parse_qs

import requests
import requests.adapters

from coursekit.kit.behaviours import Behaviour, GradedByBehaviour, within
from coursekit.labtools.client import http_session
from coursekit.kit.exercise import ANSWERS_PACKAGE, Incorrect, require_function
from coursekit.labtools.lab import fresh_lab
from labserver import LabServer

__all__ = ["ResilientClient"]

EXPIRY = 31 * 60  # seconds the grader moves the lab clock: past one access-token lifetime (30 min)
TOKEN_BUDGET = 25  # token requests one behaviour allows; a client past it is looping
RACE_HOLD = 1.0   # seconds the first refresh of a race waits for a second one (generous: a busy machine)
CALL_TIMEOUT = 15  # seconds one call of the client may take before it counts as hung


class _TooManyTokenRequests(RuntimeError):
    """Raised inside the client when it exceeds the token-request budget: it is looping."""


_stopped = threading.local()  # .looping is set on a thread that went over budget, for good


class _TokenTraffic:
    """Watch requests' transport: count token requests, keep refresh tokens handed out, hold racing refreshes."""

    def __init__(self, token_url: str, hold_first_refresh: bool = False) -> None:
        self.token_url = token_url
        self.requests = 0
        self.refresh_tokens: list[str] = []  # in the order the server handed them out
        self._hold = hold_first_refresh
        self._second = threading.Event()
        self._refreshes = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def watching(self):
        original = requests.adapters.HTTPAdapter.send
        traffic = self

        def send(adapter, request, *args, **kwargs):
            _refuse_looping_thread()  # it caught our exception and carried on looping
            if request.url.split("?")[0] != traffic.token_url:
                return original(adapter, request, *args, **kwargs)
            traffic._before(request)
            response = original(adapter, request, *args, **kwargs)
            traffic._after(response)
            return response

        requests.adapters.HTTPAdapter.send = send
        try:
            yield self
        finally:
            # A looping thread that outlives the behaviour keeps meeting the guard, never the network.
            requests.adapters.HTTPAdapter.send = _guarded(original)

    def _before(self, request) -> None:
        body = request.body or ""
        fields = parse_qs(body.decode() if isinstance(body, bytes) else body)
        with self._lock:
            self.requests += 1
            if self.requests > TOKEN_BUDGET:
                _stopped.looping = True
                raise _TooManyTokenRequests(f"more than {TOKEN_BUDGET} token requests")
            refresh = fields.get("grant_type") == ["refresh_token"]
            if refresh:
                self._refreshes += 1
            first = refresh and self._refreshes == 1
            if refresh and self._refreshes == 2:
                self._second.set()
        if self._hold and first:
            self._second.wait(RACE_HOLD)  # a second refresh now would race this one

    def _after(self, response) -> None:
        if response.status_code == 200:
            with contextlib.suppress(ValueError):
                token = response.json().get("refresh_token")
                if token:
                    with self._lock:
                        self.refresh_tokens.append(token)


def _refuse_looping_thread() -> None:
    if getattr(_stopped, "looping", False):
        time.sleep(0.2)  # a client that swallows this and loops on spins slowly, not at full speed
        raise _TooManyTokenRequests(f"more than {TOKEN_BUDGET} token requests")


def _guarded(send):
    """requests' own send, refusing only threads stopped for looping (restoring it is idempotent)."""
    send = getattr(send, "__wrapped__", send)

    def guarded(adapter, request, *args, **kwargs):
        _refuse_looping_thread()
        return send(adapter, request, *args, **kwargs)

    guarded.__wrapped__ = send
    return guarded


class _Run:
    """One client against one fresh lab: make it, call it, and count what the server saw."""

    def __init__(self, client_class, lab: LabServer, username: str, password: str | None = None) -> None:
        self.lab = lab
        self.username = username
        self.mark = len(lab.audit())
        self.traffic = _TokenTraffic(lab.url + "/oauth/token")
        self.client = client_class(lab.url, username, password or f"{username}-password")

    def get(self, path: str = "/api/me", what: str = "client.get('/api/me')"):
        with self.traffic.watching():
            try:
                return within(CALL_TIMEOUT, lambda: self.client.get(path), what)
            except _TooManyTokenRequests:
                raise Incorrect(f"{what} kept asking the token endpoint, more than {TOKEN_BUDGET} times: "
                                "a loop. Try the refresh token once, then the password once, then give up") from None

    def get_ok(self, what: str) -> None:
        r = self.get(what=what)
        if not isinstance(r, requests.Response):
            raise Incorrect(f"{what} should return the requests.Response, not {type(r).__name__}")
        if r.status_code != 200 or r.json().get("username") != self.username:
            raise Incorrect(f"{what} answered {r.status_code} {r.text[:120]}")

    def count(self, event: str, **where) -> int:
        return sum(1 for e in self.lab.audit()[self.mark:] if e["event"] == event
                   and all(e.get(k) == v for k, v in where.items()))

    def logins(self) -> int:
        return self.count("login", via="token")


def _client(client_class) -> type:
    require_function(client_class, "TokenClient")
    return client_class


# The visible run; a graded run's hidden cases (coursekit.answers.ex09) change these values.
VISIBLE = {"user": "alice", "calls": 1, "expiries": 3, "callers": 2, "after_recovery": False, "second_try": False}


def _case(hidden: bool) -> dict:
    """The values of the visible run, or of the hidden one (from the answers module, left out of classrooms)."""
    if not hidden:
        return VISIBLE
    try:
        return importlib.import_module(f"{ANSWERS_PACKAGE}.ex09").CLIENT_HIDDEN_CASES
    except ModuleNotFoundError:
        raise Incorrect("the hidden cases are not part of this copy of the course") from None


def _logs_in(client_class, hidden: bool) -> None:
    run = _Run(_client(client_class), fresh_lab(), _case(hidden)["user"])
    run.get_ok("the first client.get('/api/me')")
    calls = _case(hidden)["calls"]
    for n in range(calls - 1):
        run.get_ok(f"call {n + 2} of client.get('/api/me'), before any expiry")
    if run.logins() != 1:
        raise Incorrect(f"{calls} calls made {run.logins()} password logins: log in once, keep the tokens")
    if run.count("refresh"):
        raise Incorrect("the client refreshed while its access token was still good: use it until a 401")


def _survives_expiries(client_class, hidden: bool) -> None:
    lab = fresh_lab()
    run = _Run(_client(client_class), lab, "alice")
    run.get_ok("the first client.get('/api/me')")
    expiries = _case(hidden)["expiries"]
    for n in range(1, expiries + 1):
        lab.clock.advance(EXPIRY)
        run.get_ok(f"client.get('/api/me') after expiry {n}")
    if run.count("reuse_detected"):  # first: a reused token ends in a revoked login, then a new password login
        raise Incorrect("the client presented a refresh token twice, and the server revoked its login: rotation "
                        "means each refresh answer carries a new refresh token; keep it, the old one is spent")
    if run.logins() > 1:
        raise Incorrect(f"across {expiries} expiries the client logged in {run.logins()} times with the password: "
                        "on a 401, use the refresh token (RFC 6749 §6) and keep the new one it returns")
    if run.count("refresh") != expiries:
        raise Incorrect(f"{expiries} expiries should take {expiries} refreshes, the server saw "
                        f"{run.count('refresh')}")


def _survives_a_race(client_class, hidden: bool) -> None:
    lab = fresh_lab()
    run = _Run(_client(client_class), lab, "alice")
    run.get_ok("the first client.get('/api/me')")
    lab.clock.advance(EXPIRY)
    callers = _case(hidden)["callers"]
    start = threading.Barrier(callers)
    answers: list = [None] * callers
    run.traffic = _TokenTraffic(run.traffic.token_url, hold_first_refresh=True)

    def call(i: int) -> None:
        start.wait()
        answers[i] = run.client.get("/api/me")

    with run.traffic.watching():
        threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(callers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(CALL_TIMEOUT)
    if any(t.is_alive() for t in threads):
        raise Incorrect(f"{callers} calls at once did not all return within {CALL_TIMEOUT} s: a lock never released?")
    if run.count("reuse_detected"):
        raise Incorrect(f"{callers} calls at once after an expiry spent the same refresh token twice; the server "
                        "took it for theft and revoked the login (RFC 9700 §4.14.2). Let one caller refresh, "
                        "under a lock; the others wait and use its new access token")
    bad = [a.status_code if isinstance(a, requests.Response) else type(a).__name__ for a in answers
           if not (isinstance(a, requests.Response) and a.status_code == 200)]
    if bad:
        raise Incorrect(f"{callers} calls at once after an expiry: some answered {bad}")


def _recovers_from_revocation(client_class, hidden: bool) -> None:
    lab = fresh_lab()
    run = _Run(_client(client_class), lab, "alice")
    run.get_ok("the first client.get('/api/me')")
    lab.clock.advance(EXPIRY)
    run.get_ok("client.get('/api/me') after an expiry")
    if run.logins() != 1 or run.count("refresh") != 1 or len(run.traffic.refresh_tokens) != 2:
        raise Incorrect("to be revoked, the client must first log in once with the password grant (through "
                        "requests), then refresh once on a 401")
    # A thief replays the first refresh token: the server revokes the whole login, the client's token too.
    stolen = http_session().post(lab.url + "/oauth/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": run.traffic.refresh_tokens[0]})
    assert stolen.status_code == 400 and run.count("reuse_detected") == 1, stolen.text
    lab.clock.advance(EXPIRY)
    before = run.traffic.requests
    run.get_ok("client.get('/api/me') after its login was revoked")
    spent = run.traffic.requests - before
    if run.logins() != 2:
        raise Incorrect(f"after the revocation the server saw {run.logins() - 1} new password logins; "
                        "when the refresh is refused (invalid_grant), log in again with the password, once")
    if spent > 2:
        raise Incorrect(f"recovering took {spent} token requests: one refused refresh, one login is enough")
    if _case(hidden)["after_recovery"]:  # the new login's refresh token is the one to use from now on
        lab.clock.advance(EXPIRY)
        run.get_ok("client.get('/api/me') after the next expiry")
        if run.logins() != 2 or run.count("reuse_detected") != 1:
            raise Incorrect("after recovering, the next expiry should be a refresh of the new login")


def _gives_up(client_class, hidden: bool) -> None:
    lab = fresh_lab()
    run = _Run(_client(client_class), lab, _case(hidden)["user"], password="not-the-password")
    try:
        answer = run.get(what="client.get('/api/me') with a wrong password")
    except Incorrect:  # it looped or hung: say so
        raise
    except Exception:  # noqa: BLE001 - raising is a fine way to give up
        answer = None
    if isinstance(answer, requests.Response) and answer.status_code == 200:
        raise Incorrect("with a wrong password the client got 200?")
    failed = run.count("login_failed")
    if run.count("login_throttled"):
        raise Incorrect(f"with a wrong password the client tried {failed} times and the server throttled it (429): "
                        "a refused password will not get better by retrying; give up after one try")
    if failed > 2:
        raise Incorrect(f"with a wrong password the client tried {failed} logins: give up after one")
    if _case(hidden)["second_try"]:  # giving up once must not make the next call hang or loop either
        again = run.count("login_failed")
        with contextlib.suppress(Exception):
            run.get(what="a second client.get('/api/me') with a wrong password")
        if run.count("login_failed") - again > 2:
            raise Incorrect("a second call with a wrong password retried more than twice")


class ResilientClient(GradedByBehaviour):
    title = "A client that keeps working"
    behaviours = (
        Behaviour("login", "logs in once and calls the API", 1, _logs_in),
        Behaviour("expiries", "refreshes across many expiries, with rotation", 2, _survives_expiries),
        Behaviour("race", "survives a refresh race", 2, _survives_a_race),
        Behaviour("recovery", "recovers when its login is revoked", 2, _recovers_from_revocation),
        Behaviour("gives-up", "gives up on a refused password, no loop", 1, _gives_up),
    )
    _hints = [
        "Keep access_token and refresh_token on self. get(): send the access token; on a 401 renew it "
        "(refresh grant), then retry the request once.",
        "Renewing: try the refresh grant; if the server refuses it (400 invalid_grant: revoked or reused), log in "
        "with the password grant once; if that is refused too, raise. Never loop.",
        "The race: put renewing under a threading.Lock, and inside the lock first ask whether another caller has "
        "already renewed (is self.access_token still the token that got the 401?). If so, just use the new one.",
    ]
