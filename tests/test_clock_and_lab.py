"""The lab clock (unit tests with a fake wall clock) and the /lab/ controls: clock, stats, store, reset."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from conftest import T0, Auth, make_client
from helpers import audit_events, bearer, error, session_login
from labserver import Settings, create_app
from labserver.control.clock import LabClock, iso, parse_instant


class Wall:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_frozen_clock_stands_still_while_the_wall_moves():
    wall = Wall()
    clock = LabClock(frozen_at=T0, wall=wall)
    wall.now += 3600
    assert clock.now() == T0
    assert clock.frozen is True
    assert clock.state() == {"now": T0, "iso": "2030-01-01T09:00:00Z", "frozen": True}


def test_running_clock_follows_the_wall():
    wall = Wall()
    clock = LabClock(wall=wall)
    assert (clock.now(), clock.frozen) == (wall.now, False)
    wall.now += 5
    assert clock.now() == 1_000_005.0


@pytest.mark.parametrize("frozen_at", [T0, None])
def test_advance_moves_the_clock_forward_and_back_frozen_or_running(frozen_at):
    wall = Wall()
    clock = LabClock(frozen_at=frozen_at, wall=wall)
    start = clock.now()
    clock.advance(1800)
    assert clock.now() == start + 1800
    clock.advance(-1799.5)
    assert clock.now() == start + 0.5
    assert clock.frozen is (frozen_at is not None)


def test_set_while_frozen_stays_frozen_at_the_instant():
    wall = Wall()
    clock = LabClock(frozen_at=0, wall=wall)
    clock.set(T0)
    wall.now += 10
    assert (clock.now(), clock.frozen) == (T0, True)


def test_set_while_running_keeps_running_from_the_instant():
    wall = Wall()
    clock = LabClock(wall=wall)
    clock.set(T0)
    assert clock.now() == T0
    wall.now += 10
    assert (clock.now(), clock.frozen) == (T0 + 10, False)


def test_freeze_and_run_keep_lab_time_continuous():
    wall = Wall()
    clock = LabClock(wall=wall)
    clock.set(T0)
    wall.now += 7
    assert clock.freeze() == T0 + 7
    assert clock.freeze() == T0 + 7  # freezing a frozen clock changes nothing
    wall.now += 1000
    assert clock.now() == T0 + 7
    assert clock.run() == T0 + 7  # runs on from where it stood, not from the wall
    wall.now += 3
    assert clock.now() == T0 + 10
    assert clock.run() == T0 + 10


@pytest.mark.parametrize(("instant", "text"), [
    (T0, "2030-01-01T09:00:00Z"),
    (T0 + 0.5, "2030-01-01T09:00:00.500Z"),
    (0, "1970-01-01T00:00:00Z"),
    (4102444799, "2099-12-31T23:59:59Z"),
])
def test_iso_and_parse_instant_round_trip(instant, text):
    assert iso(instant) == text
    assert parse_instant(text) == instant


@pytest.mark.parametrize("value", ["2030-01-01T09:00:00Z", "2030-01-01T09:00:00", "2030-01-01 10:00:00+01:00",
                                   "2030-01-01T09:00:00.000+00:00", " 1893488400 ", "1893488400.0",
                                   1893488400, 1893488400.0])
def test_parse_instant_reads_unix_seconds_and_iso_8601(value):
    assert parse_instant(value) == T0


@pytest.mark.parametrize("value", [True, False, "garbage", "", "2030-13-01"])
def test_parse_instant_refuses_what_is_not_an_instant(value):
    with pytest.raises(ValueError):
        parse_instant(value)


def test_lab_clock_endpoint_shows_the_lab_time(client):
    r = client.get("/lab/clock")
    assert r.status_code == 200, r.text
    assert r.json() == {"now": T0, "iso": "2030-01-01T09:00:00Z", "frozen": True}


def test_advance_endpoint_moves_the_clock_and_is_audited(client, lab):
    r = client.post("/lab/clock/advance", json={"seconds": 31 * 60})
    assert r.status_code == 200, r.text
    assert r.json() == {"now": T0 + 1860, "iso": "2030-01-01T09:31:00Z", "frozen": True}
    assert lab.clock.now() == T0 + 1860
    (event,) = client.get("/lab/audit").json()
    assert event == {"id": 1, "at": "2030-01-01T09:31:00Z", "event": "clock_changed",
                     "now": "2030-01-01T09:31:00Z", "frozen": True}


def test_set_endpoint_takes_iso_8601_and_keeps_the_clock_frozen(client):
    r = client.post("/lab/clock/set", json={"at": "2030-06-01T12:00:00+02:00"})
    assert r.status_code == 200, r.text
    assert r.json() == {"now": parse_instant("2030-06-01T10:00:00Z"), "iso": "2030-06-01T10:00:00Z", "frozen": True}


def test_set_endpoint_with_frozen_false_lets_the_clock_run_and_freeze_stops_it(client, lab):
    r = client.post("/lab/clock/set", json={"at": T0, "frozen": False})
    assert r.status_code == 200, r.text
    assert r.json()["frozen"] is False
    assert T0 <= lab.clock.now() < T0 + 60
    r = client.post("/lab/clock/freeze")
    assert r.json() == {**r.json(), "frozen": True}
    assert client.post("/lab/clock/run").json()["frozen"] is False
    assert client.post("/lab/clock/set", json={"at": T0, "frozen": True}).json() == {
        "now": T0, "iso": "2030-01-01T09:00:00Z", "frozen": True}


def test_stats_count_requests_and_store_use_per_route(client, auth):
    client.delete("/lab/stats")
    login = auth.token()
    auth.get("/api/me", login["access_token"])
    auth.refresh(login["refresh_token"])
    client.get("/session/me")
    client.get("/no/such/route")
    assert client.get("/lab/stats").json() == {
        "DELETE /lab/stats": {"requests": 1, "reads": 0, "writes": 0},
        "GET (no route)": {"requests": 1, "reads": 0, "writes": 0},
        "GET /api/me": {"requests": 1, "reads": 0, "writes": 0},
        "GET /session/me": {"requests": 1, "reads": 0, "writes": 0},  # no cookie: nothing to look up
        # login: read the user, write family and token; refresh: read token and user, write 3
        "POST /oauth/token": {"requests": 2, "reads": 3, "writes": 5},
    }


def test_store_views_show_rows_with_secrets_only_hashed_and_no_password_hashes(client, auth):
    auth.token()
    users = client.get("/lab/store/users").json()
    assert [(u["username"], u["role"], u["disabled"]) for u in users] == [
        ("alice", "user", 0), ("bob", "user", 0), ("admin", "admin", 0)]
    assert all(set(u) == {"id", "username", "role", "disabled", "created_at"} for u in users)
    (family,) = client.get("/lab/store/refresh_families").json()
    assert family == {**family, "user_id": 1, "created_at": T0, "revoked_at": None, "revoked_reason": None}
    assert client.get("/lab/store/denylist").json() == []


def test_audit_since_returns_only_newer_events_and_delete_clears_it(client):
    for _ in range(3):
        client.post("/lab/clock/advance", json={"seconds": 1})
    assert [e["id"] for e in client.get("/lab/audit", params={"since": 1}).json()] == [2, 3]
    assert client.delete("/lab/audit").json() == {"cleared": True}
    assert client.get("/lab/audit").json() == []


def test_reset_restores_seeded_users_and_forgets_sessions_families_and_audit(client, auth, lab):
    admin = bearer(auth.token("admin")["access_token"])
    client.patch("/admin/users/alice", json={"role": "admin"}, headers=admin)
    client.patch("/admin/users/bob", json={"disabled": True}, headers=admin)
    session_login(client, "alice")
    r = client.post("/lab/reset")
    assert r.status_code == 200, r.text
    assert r.json() == {"reset": True}
    assert [u.public() for u in lab.users.all()] == [
        {"username": "alice", "role": "user", "disabled": False},
        {"username": "bob", "role": "user", "disabled": False},
        {"username": "admin", "role": "admin", "disabled": False}]
    for table in ("sessions", "refresh_families", "refresh_tokens", "denylist"):
        assert client.get(f"/lab/store/{table}").json() == [], table
    assert audit_events(client) == ["reset"]
    assert set(client.get("/lab/stats").json()) == {"POST /lab/reset", "GET /lab/store/{table}", "GET /lab/audit"}
    assert client.get("/session/me").status_code == 401


def test_settings_view_names_users_but_never_their_passwords():
    client = make_client(users=(("carol", "carols-secret", "admin"),))
    view = client.get("/lab/settings").json()
    assert view["users"] == ["carol"]
    assert view["issuer"] == "http://127.0.0.1:8000"
    assert "carols-secret" not in client.get("/lab/settings").text
    assert Auth(client).token("carol", "carols-secret")["token_type"] == "Bearer"


def test_same_seed_gives_the_same_tokens():
    first, second = (Auth(make_client(seed=7)).token() for _ in range(2))
    assert first == second
    assert Auth(make_client(seed=8)).token() != first


def test_lab_controls_switched_off_are_not_served():
    client = TestClient(create_app(Settings(host="0.0.0.0", lab_controls=False, frozen_at=T0)))
    for method, path in (("GET", "/lab/clock"), ("POST", "/lab/clock/advance"), ("POST", "/lab/reset"),
                         ("GET", "/lab/store/users")):
        r = client.request(method, path)
        assert r.status_code == 404, r.text
        assert r.json() == error("not_found", "Not Found")
    assert client.get("/api/hello").json() == {"message": "hello, anyone"}
    assert not any(p.startswith("/lab/") for p in client.get("/openapi.json").json()["paths"])


def test_lab_controls_on_a_non_loopback_address_are_refused():
    with pytest.raises(ValueError, match="lab controls let anyone move the clock"):
        Settings(host="0.0.0.0")


def test_seeded_randomness_on_a_non_loopback_address_is_refused():
    with pytest.raises(ValueError, match="seed makes secrets predictable"):
        Settings(host="192.0.2.1", lab_controls=False, seed=1)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_addresses_may_have_lab_controls_and_a_seed(host):
    assert Settings(host=host, seed=1).is_loopback
