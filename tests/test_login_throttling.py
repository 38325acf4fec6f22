"""Brute force: after too many failed logins, 429 with Retry-After (RFC 6585 §4), on both login routes.

Counted per account name and per client address on the lab clock; the same answer for names that do not
exist; refused before any password check; audited.
"""

from __future__ import annotations

import pytest

from conftest import make_client
from helpers import error

ROUTES = {
    "token": ("/oauth/token", {"grant_type": "password"}),
    "session": ("/session/login", {}),
}
THROTTLED_HEADERS = {"retry-after": "900", "cache-control": "no-store", "pragma": "no-cache"}


def log_in(client, route: str, username: str, password: str):
    path, fields = ROUTES[route]
    return client.post(path, data={**fields, "username": username, "password": password})


def throttled(seconds: int) -> dict:
    return error("too_many_requests", f"too many failed logins: try again in {seconds} seconds")


def assert_throttled(r, seconds: int = 900) -> None:
    assert r.status_code == 429, r.text
    assert r.json() == throttled(seconds)
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
    lab.clock.advance(899)
    assert_throttled(log_in(client, route, "alice", "alice-password"), seconds=1)
    lab.clock.advance(1)
    assert log_in(client, route, "alice", "alice-password").status_code == 200


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
    assert_throttled(log_in(client, "token", "alice", "alice-password"))
    assert_throttled(log_in(client, "session", "bob", "bob-password"))


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
    client = make_client(login_failures_per_account=2, login_window=60)
    for i in range(2):
        log_in(client, "token", "alice", f"guess-{i}")
    assert_throttled(log_in(client, "token", "alice", "alice-password"), seconds=60)
