"""Brute force: after too many failed logins, 429 with Retry-After (RFC 6585 §4), on both login routes.

Counted per account name (waits doubling up to a minute) and per client address on the lab clock; the same
answer for names that do not exist; refused before any password check; audited; forwarded headers ignored
unless a proxy is named; a class logging in at once from one address all get in.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import labserver
from conftest import T0, make_client
from labserver.accounts.throttle import LoginThrottle
from labserver.web.errors import TooManyFailedLogins
from helpers import error

ROUTES = {
    "token": ("/oauth/token", {"grant_type": "password"}),
    "session": ("/session/login", {}),
}
THROTTLED_HEADERS = {"retry-after": "1", "cache-control": "no-store", "pragma": "no-cache"}
ACCOUNT = "10 failed logins in a row for this account name"


def log_in(client, route: str, username: str, password: str):
    path, fields = ROUTES[route]
    return client.post(path, data={**fields, "username": username, "password": password})


def throttled(seconds: int, counted: str) -> dict:
    unit = "second" if seconds == 1 else "seconds"
    return error("too_many_requests", f"too many failed logins ({counted}): try again in {seconds} {unit}")


def assert_throttled(r, seconds: int = 1, counted: str = ACCOUNT) -> None:
    assert r.status_code == 429, r.text
    assert r.json() == throttled(seconds, counted)
    assert {k: r.headers.get(k) for k in THROTTLED_HEADERS} == {**THROTTLED_HEADERS, "retry-after": str(seconds)}


@pytest.mark.parametrize("route", ROUTES)
def test_forty_wrong_passwords_then_the_right_one_is_throttled(client, route):
    answers = [log_in(client, route, "alice", f"guess-{i}").status_code for i in range(40)]
    assert answers[:10] == [400 if route == "token" else 401] * 10
    assert answers[10:] == [429] * 30
    assert_throttled(log_in(client, route, "alice", "alice-password"))


@pytest.mark.parametrize("route", ROUTES)
def test_the_wait_runs_on_the_lab_clock(client, lab, route):
    for i in range(10):
        log_in(client, route, "alice", f"guess-{i}")
    lab.clock.advance(0.5)
    assert_throttled(log_in(client, route, "alice", "alice-password"), seconds=1)
    lab.clock.advance(0.5)
    assert log_in(client, route, "alice", "alice-password").status_code == 200


def test_each_failure_past_the_limit_doubles_the_wait_up_to_a_minute_and_the_owner_gets_in_after_it(client, lab):
    """The attacker guesses as fast as allowed; the real user, beside them, waits no more than a minute."""
    for i in range(10):
        assert log_in(client, "token", "alice", f"guess-{i}").status_code == 400
    waits = []
    for i in range(9):
        refused = log_in(client, "token", "alice", f"more-{i}")
        waits.append(int(refused.headers["retry-after"]))
        assert_throttled(refused, seconds=waits[-1],
                         counted=f"{10 + i} failed logins in a row for this account name")
        lab.clock.advance(waits[-1])
        assert log_in(client, "token", "alice", f"more-{i}").status_code == 400  # allowed, and wrong
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    owner = log_in(client, "token", "alice", "alice-password")
    assert_throttled(owner, seconds=60, counted="19 failed logins in a row for this account name")
    lab.clock.advance(60)
    assert log_in(client, "token", "alice", "alice-password").status_code == 200


def test_a_whole_window_without_a_failure_starts_the_row_again(client, lab):
    for i in range(10):
        log_in(client, "token", "alice", f"guess-{i}")
    lab.clock.advance(15 * 60)
    for i in range(10):  # ten free failures again, as after a success
        assert log_in(client, "token", "alice", f"later-{i}").status_code == 400
    assert_throttled(log_in(client, "token", "alice", "alice-password"))


def test_an_unknown_name_gets_the_same_answer_as_a_real_account(client):
    for name in ("alice", "mallory"):
        for i in range(10):
            log_in(client, "token", name, f"guess-{i}")
    real, unknown = (log_in(client, "token", name, "x") for name in ("alice", "mallory"))
    assert_throttled(real)
    assert_throttled(unknown)
    assert real.headers["retry-after"] == unknown.headers["retry-after"]


def test_both_routes_share_one_count(client):
    for i in range(5):
        log_in(client, "token", "alice", f"guess-{i}")
        log_in(client, "session", "alice", f"guess-{i}")
    assert_throttled(log_in(client, "session", "alice", "alice-password"))


def test_failures_from_one_address_across_many_names_are_throttled():
    client = make_client(login_failures_per_address=5)
    for i in range(5):
        assert log_in(client, "token", f"user{i}", "guess").status_code == 400
    address = "5 failed logins from your address in the last 15 minutes"
    assert_throttled(log_in(client, "token", "alice", "alice-password"), seconds=900, counted=address)
    assert_throttled(log_in(client, "session", "bob", "bob-password"), seconds=900, counted=address)


def test_a_success_clears_the_accounts_failures(client):
    for _ in range(2):
        for i in range(9):
            assert log_in(client, "token", "alice", f"guess-{i}").status_code == 400
        assert log_in(client, "token", "alice", "alice-password").status_code == 200
    assert log_in(client, "token", "alice", "guess").status_code == 400


def test_a_throttled_login_checks_no_password(client, monkeypatch):
    for i in range(10):
        log_in(client, "token", "alice", f"guess-{i}")
    lab = client.app.state.lab
    monkeypatch.setattr(lab.users, "authenticate", lambda *a: pytest.fail("a password was checked"))
    assert_throttled(log_in(client, "token", "alice", "alice-password"))


def test_throttled_logins_are_audited(client):
    for i in range(10):
        log_in(client, "session", "alice", f"guess-{i}")
    log_in(client, "session", "alice", "alice-password")
    events = client.get("/lab/audit").json()
    assert [e["event"] for e in events] == ["login_failed"] * 10 + ["login_throttled"]
    assert {k: events[-1][k] for k in ("via", "username", "address")} == {
        "via": "session", "username": "alice", "address": "testclient"}


def test_a_lab_reset_forgets_the_failures(client):
    for i in range(10):
        log_in(client, "token", "alice", f"guess-{i}")
    assert client.post("/lab/reset").status_code == 200
    assert log_in(client, "token", "alice", "alice-password").status_code == 200


def test_the_limits_are_settings():
    client = make_client(login_failures_per_account=2, login_window=60, login_lockout=5)
    for i in range(5):
        client.app.state.lab.clock.advance(5)  # 5 s apart: each is allowed (waits 1, 2, 4 s)
        assert log_in(client, "token", "alice", f"guess-{i}").status_code == 400
    assert_throttled(log_in(client, "token", "alice", "alice-password"), seconds=5,  # not 8: the lockout is 5 s
                     counted="5 failed logins in a row for this account name")


def test_a_forwarded_address_changes_nothing_unless_a_proxy_is_named():
    """The attacker sends a new X-Forwarded-For with each guess over many names; the counts do not split."""
    with labserver.start(login_failures_per_address=5) as lab:
        answers = [lab.http.post(lab.url + "/oauth/token", timeout=10, headers={"X-Forwarded-For": f"10.0.0.{i}"},
                                 data={"grant_type": "password", "username": f"name{i}", "password": "guess"})
                   for i in range(8)]
        assert [r.status_code for r in answers] == [400] * 5 + [429] * 3
        assert answers[-1].json() == throttled(900, "5 failed logins from your address in the last 15 minutes")
        assert {e["address"] for e in lab.audit() if e["event"] == "login_throttled"} == {"127.0.0.1"}
    with labserver.start(login_failures_per_address=5, trusted_proxies=("127.0.0.1",)) as proxied:
        # Behind a named proxy, the address it forwards is the client's: each "client" has its own count.
        answers = [proxied.http.post(proxied.url + "/oauth/token", timeout=10,
                                     headers={"X-Forwarded-For": f"10.0.0.{i}"},
                                     data={"grant_type": "password", "username": f"name{i}", "password": "guess"})
                   for i in range(8)]
        assert [r.status_code for r in answers] == [400] * 8


def test_a_burst_of_parallel_guesses_at_one_account_gets_no_more_than_its_limit_checked():
    with labserver.start() as lab:
        def guess(i: int) -> int:
            return requests.post(lab.url + "/oauth/token", timeout=30, data={
                "grant_type": "password", "username": "alice", "password": f"guess-{i}"}).status_code

        with ThreadPoolExecutor(max_workers=30) as pool:
            answers = list(pool.map(guess, range(30)))
        checked = [e for e in lab.audit() if e["event"] == "login_failed"]
        assert len(checked) <= 10 and answers.count(400) == len(checked)
        assert answers.count(429) == 30 - len(checked)


def test_a_class_logging_in_at_once_from_one_address_all_get_in():
    """40 students, twice the address's limit, log in with right passwords at the same moment."""
    students = [(f"student{i}", f"pw-of-student-{i}", "user") for i in range(40)]
    with labserver.start(users=students, frozen_at=T0, login_failures_per_address=20) as lab:
        def log_in_one(student) -> int:
            name, password, _role = student
            return requests.post(lab.url + "/oauth/token", timeout=60, data={
                "grant_type": "password", "username": name, "password": password}).status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            answers = list(pool.map(log_in_one, students))
        assert answers == [200] * 40
        # Beside them, a guesser from the same address is still counted: its failures, not their logins.
        for i in range(20):
            lab.http.post(lab.url + "/oauth/token", timeout=10,
                          data={"grant_type": "password", "username": f"student{i}", "password": "guess"})
        r = lab.http.post(lab.url + "/oauth/token", timeout=10,
                          data={"grant_type": "password", "username": "student39", "password": "pw-of-student-39"})
        assert (r.status_code, r.json()) == (429, throttled(900, "20 failed logins from your address in the last "
                                                                 "15 minutes"))


def test_two_hundred_logins_in_flight_from_one_address_are_not_failures():
    throttle = LoginThrottle(per_account=10, per_address=50, window=900, lockout=60)
    attempts = [throttle.start(f"student{i}", "10.1.2.3", T0) for i in range(200)]  # none refused
    for attempt in attempts:
        throttle.check_address(attempt, T0)  # none refused when its password check starts either
        throttle.succeeded(attempt)
    throttle.start("student0", "10.1.2.3", T0)


def test_on_a_frozen_lab_clock_every_wait_ends_on_the_real_clock():
    """A lesson's frozen clock would make a lockout last for good: a classmate's ten wrong guesses would shut
    the owner out of their own lab. The real clock (here a fake one: no sleeping) ends it."""
    real = [1000.0]
    throttle = LoginThrottle(per_account=10, per_address=50, window=900, lockout=60, real_clock=lambda: real[0])
    for _ in range(10):
        throttle.failed(throttle.start("alice", "127.0.0.1", T0), T0)
    with pytest.raises(TooManyFailedLogins):
        throttle.start("alice", "127.0.0.1", T0)
    real[0] += 59
    with pytest.raises(TooManyFailedLogins):
        throttle.start("alice", "127.0.0.1", T0)
    real[0] += 1  # a lockout of real time after the latest failure, the lab clock still frozen at T0
    throttle.succeeded(throttle.start("alice", "127.0.0.1", T0))
    for i in range(50):
        throttle.failed(throttle.start(f"name{i}", "10.0.0.9", T0), T0)
    real[0] += 899
    with pytest.raises(TooManyFailedLogins):
        throttle.start("bob", "10.0.0.9", T0)
    real[0] += 1  # a window of real time after the address's latest failure
    throttle.start("bob", "10.0.0.9", T0)
