"""Capstone task (a): a client that logs in once, refreshes with rotation, survives a race, and recovers.

The learner writes ``TokenClient(base_url, username, password)`` with ``get(path)`` returning the response, with
any HTTP library (requests, httpx, urllib). Each behaviour runs it against a fresh lab (refresh reuse interval 0:
every reuse is detected) and judges it by what reached the server: its audit log (password logins, refreshes,
reuse detected, throttling) and its count of token requests. The lab's referee (``coursekit.exercises.referee``)
refuses token requests past a budget, so a loop shows at the server and is stopped at once, and for the race
holds the first refresh until a second one arrives, so that a client without a guard reliably spends its
refresh token twice. Everything the client does, its constructor included, runs under a time limit
(``coursekit.kit.timelimit``): a loop or a deadlock is reported, and a loop is stopped.
"""

from __future__ import annotations

import importlib
import threading
import time

from coursekit.kit.behaviours import Behaviour, GradedByBehaviour
from coursekit.kit.exercise import ANSWERS_PACKAGE, Incorrect, require_function
from coursekit.kit.timelimit import run_limited, stop_thread
from coursekit.labtools.lab import fresh_lab
from coursekit.exercises.referee import budget_spent, end_logins, json_of, referee, status_of, token_requests
from labserver import LabServer

__all__ = ["ResilientClient"]

EXPIRY = 31 * 60  # seconds the grader moves the lab clock: past one access-token lifetime (30 min)
TOKEN_BUDGET = 25  # token requests one behaviour allows; a client past it is looping
RACE_HOLD = 1.0   # seconds the first refresh of a race waits for a second one (generous: a busy machine)
CALL_TIMEOUT = 15  # seconds one call of the client (or its constructor) may take before it counts as hung

_LOOP = ("{what} kept asking the token endpoint, more than {budget} times: a loop. Try the refresh token once, "
         "then the password once, then give up")


class _Run:
    """One client against one fresh lab: make it, call it, and count what the server saw."""

    def __init__(self, client_class, lab: LabServer, username: str, password: str | None = None,
                 hold_refresh: float = 0.0) -> None:
        self.lab = lab
        self.username = username
        referee(lab, budget=TOKEN_BUDGET, hold_refresh=hold_refresh)
        self.mark = lab.audit()[-1]["id"]  # from before the constructor: a client may log in there
        self.client = self.limited(lambda: client_class(lab.url, username, password or f"{username}-password"),
                                   f"TokenClient(base_url, {username!r}, password)")

    def limited(self, action, what: str):
        def looped() -> str | None:
            return _LOOP.format(what=what, budget=TOKEN_BUDGET) if budget_spent(self.lab) else None

        try:
            result = run_limited(CALL_TIMEOUT, action, what, stop_when=looped)
        except Incorrect:
            raise
        except Exception:
            if budget_spent(self.lab):  # the lab's refusal ended the loop with an exception in the client
                raise Incorrect(_LOOP.format(what=what, budget=TOKEN_BUDGET)) from None
            raise
        if budget_spent(self.lab):  # it looped, caught the refusal, and returned anyway
            raise Incorrect(_LOOP.format(what=what, budget=TOKEN_BUDGET))
        return result

    def get(self, path: str = "/api/me", what: str = "client.get('/api/me')"):
        return self.limited(lambda: self.client.get(path), what)

    def get_ok(self, what: str) -> None:
        r = self.get(what=what)
        status = status_of(r)
        if status is None:
            raise Incorrect(f"{what} should return the HTTP response, not {type(r).__name__}")
        body = json_of(r)
        if status != 200 or (isinstance(body, dict) and body.get("username") != self.username):
            raise Incorrect(f"{what} answered {status} {str(body)[:120] if body is not None else ''}".rstrip())

    def count(self, event: str, **where) -> int:
        return sum(1 for e in self.lab.audit(self.mark) if e["event"] == event
                   and all(e.get(k) == v for k, v in where.items()))

    def logins(self) -> int:
        return self.count("login", via="token", username=self.username)


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
        return importlib.import_module(f"{ANSWERS_PACKAGE}.ex09").client_hidden_cases()
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
    run = _Run(_client(client_class), lab, "alice", hold_refresh=RACE_HOLD)
    run.get_ok("the first client.get('/api/me')")
    lab.clock.advance(EXPIRY)
    callers = _case(hidden)["callers"]
    start = threading.Barrier(callers)
    answers: list = [None] * callers

    def call(i: int) -> None:
        start.wait()
        answers[i] = run.client.get("/api/me")

    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(callers)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + CALL_TIMEOUT
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if budget_spent(lab) or any(t.is_alive() for t in threads):
        stopped = all([stop_thread(t) for t in threads])
        if budget_spent(lab):
            raise Incorrect(_LOOP.format(what=f"{callers} calls at once", budget=TOKEN_BUDGET))
        raise Incorrect(f"{callers} calls at once did not all return within {CALL_TIMEOUT} s: a lock never "
                        f"released? {'They were stopped' if stopped else 'Some still wait, in the background'}")
    if run.count("reuse_detected"):
        raise Incorrect(f"{callers} calls at once after an expiry spent the same refresh token twice; the server "
                        "took it for theft and revoked the login (RFC 9700 §4.14.2). Let one caller refresh, "
                        "under a lock; the others wait and use its new access token")
    bad = [status_of(a) or type(a).__name__ for a in answers if status_of(a) != 200]
    if bad:
        raise Incorrect(f"{callers} calls at once after an expiry: some answered {bad}")
    # Passing the race means refreshing in it: a client that logs in again on every 401 never races.
    if run.logins() != 1 or not run.count("refresh"):
        raise Incorrect(f"{callers} calls at once after an expiry made {run.logins() - 1} new password logins and "
                        f"{run.count('refresh')} refreshes: renew with the refresh token, one caller at a time")
    # One expiry, one refresh: the others wait for it and use its token, they do not refresh again in turn.
    if run.count("refresh") != 1:
        raise Incorrect(f"{callers} calls at once after one expiry made {run.count('refresh')} refreshes at the "
                        "server, one after another: the lock keeps them apart, but each caller refreshes again "
                        "once it gets the lock. One expiry takes exactly one refresh: inside the lock, first ask "
                        "whether another caller has already renewed (is the access token still the one that got "
                        "the 401?), and if so use its new token")


def _recovers_from_revocation(client_class, hidden: bool) -> None:
    lab = fresh_lab()
    run = _Run(_client(client_class), lab, "alice")
    run.get_ok("the first client.get('/api/me')")
    lab.clock.advance(EXPIRY)
    run.get_ok("client.get('/api/me') after an expiry")
    if run.logins() != 1 or run.count("refresh") != 1:
        raise Incorrect("to be revoked, the client must first log in once with the password grant, then refresh "
                        f"once on a 401; the server saw {run.logins()} logins and {run.count('refresh')} refreshes")
    # The server revokes the login, as it does when it detects a stolen refresh token: a refresh now fails.
    end_logins(lab, run.username)
    lab.clock.advance(EXPIRY)
    before = token_requests(lab)
    run.get_ok("client.get('/api/me') after its login was revoked")
    spent = token_requests(lab) - before
    if run.logins() != 2:
        raise Incorrect(f"after the revocation the server saw {run.logins() - 1} new password logins; "
                        "when the refresh is refused (invalid_grant), log in again with the password, once")
    if spent > 2:
        raise Incorrect(f"recovering took {spent} token requests: one refused refresh, one login is enough")
    if _case(hidden)["after_recovery"]:  # the new login's refresh token is the one to use from now on
        lab.clock.advance(EXPIRY)
        run.get_ok("client.get('/api/me') after the next expiry")
        if run.logins() != 2 or run.count("refresh") != 2 or run.count("reuse_detected"):
            raise Incorrect("after recovering, the next expiry should be a refresh of the new login")


def _gives_up(client_class, hidden: bool) -> None:
    lab = fresh_lab()
    what = "client.get('/api/me') with a wrong password"
    answer = None
    try:  # raising, in the constructor or in get(), is a fine way to give up
        run = _Run(_client(client_class), lab, _case(hidden)["user"], password="not-the-password")
    except Incorrect:  # it looped or hung: say so
        raise
    except Exception:  # noqa: BLE001
        run = None
    else:
        try:
            answer = run.get(what=what)
        except Incorrect:
            raise
        except Exception:  # noqa: BLE001
            answer = None
    if status_of(answer) == 200:
        raise Incorrect("with a wrong password the client got 200?")
    failed = sum(1 for e in lab.audit() if e["event"] == "login_failed")
    if any(e["event"] == "login_throttled" for e in lab.audit()):
        raise Incorrect(f"with a wrong password the client tried {failed} times and the server throttled it (429): "
                        "a refused password will not get better by retrying; give up after one try")
    if failed > 2:
        raise Incorrect(f"with a wrong password the client tried {failed} logins: give up after one")
    if _case(hidden)["second_try"] and run is not None:  # giving up must not make the next call hang or loop
        again = run.count("login_failed")
        try:
            run.get(what="a second client.get('/api/me') with a wrong password")
        except Incorrect:
            raise
        except Exception:  # noqa: BLE001
            pass
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
