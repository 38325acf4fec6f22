"""Cookie sessions: the cookie's attributes, an opaque id stored hashed, logout, idle and absolute expiry."""

from __future__ import annotations

import hashlib
import re

import pytest

from starlette.testclient import TestClient

from conftest import T0, Auth, make_client
from helpers import REALM, bearer, error, session_login
from labserver import Settings, create_app

LOGIN_REQUIRED = error("login_required", "no valid session: log in first")
WRONG_PASSWORD = error("invalid_credentials", "Incorrect username or password")


def session_cookie(response, name: str = "session") -> str:
    (cookie,) = response.headers.get_list("set-cookie")
    match = re.fullmatch(rf"{re.escape(name)}=([^;]*); (.*)", cookie)
    assert match, cookie
    return match.group(1)


def assert_login_required(response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == LOGIN_REQUIRED
    assert response.headers["www-authenticate"] == f'Cookie realm="{REALM}"'


def me_with(app, session_id: str, name: str = "session"):
    """GET /session/me from another client that only has a copy of the cookie."""
    return TestClient(app).get("/session/me", headers={"Cookie": f"{name}={session_id}"})


def admin_patch(client, username: str, change: dict) -> None:
    admin = Auth(client).token("admin")["access_token"]
    r = client.patch(f"/admin/users/{username}", json=change, headers=bearer(admin))
    assert r.status_code == 200, r.text


def test_login_sets_an_http_only_same_site_strict_cookie(client):
    r = session_login(client)
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "alice", "role": "user"}
    session_id = session_cookie(r)
    assert r.headers["set-cookie"] == f"session={session_id}; HttpOnly; Path=/; SameSite=strict"


def test_over_tls_the_cookie_is_host_prefixed_and_secure():
    # create_app does not read the certificate files: only serve() hands them to uvicorn.
    app = create_app(Settings(frozen_at=T0, tls_cert="cert.pem", tls_key="key.pem"))
    client = TestClient(app, base_url=app.state.lab.settings.base_url)  # one of its own names
    r = session_login(client)
    assert r.status_code == 200, r.text
    session_id = session_cookie(r, "__Host-session")
    assert r.headers["set-cookie"] == f"__Host-session={session_id}; HttpOnly; Path=/; SameSite=strict; Secure"
    assert client.get("/session/me").json()["username"] == "alice"
    assert_login_required(me_with(app, session_id, "session"))


def test_session_id_has_at_least_128_random_bits(client):
    session_id = session_cookie(session_login(client))
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session_id)  # 32 bytes, base64url without padding
    assert session_cookie(session_login(client)) != session_id


def test_store_keeps_only_the_sha256_of_the_session_id(client, lab):
    session_id = session_cookie(session_login(client))
    rows = client.get("/lab/store/sessions").json()
    alice = lab.users.by_name("alice")
    assert rows == [{"id_hash": hashlib.sha256(session_id.encode()).hexdigest(), "user_id": alice.id,
                     "created_at": T0, "last_seen_at": T0}]
    assert session_id not in repr(rows)


def test_session_me_says_who_and_until_when(client, lab):
    session_login(client)
    lab.clock.advance(600)
    r = client.get("/session/me")
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "alice", "role": "user",
                        "session": {"created_at": "2030-01-01T09:00:00Z", "expires_at": "2030-01-01T09:40:00Z"}}


def test_session_me_without_a_cookie_needs_a_login(client):
    assert_login_required(client.get("/session/me"))
    assert_login_required(me_with(client.app, "made-up"))


def test_logout_ends_the_session_for_every_copy_of_the_cookie(client):
    session_id = session_cookie(session_login(client))
    assert me_with(client.app, session_id).status_code == 200
    r = client.post("/session/logout")
    assert r.status_code == 200, r.text
    assert r.json() == {"logged_out": True}
    assert 'session=""' in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    assert_login_required(me_with(client.app, session_id))
    assert client.get("/lab/store/sessions").json() == []


def test_logout_without_a_session_ends_nothing(client):
    r = client.post("/session/logout")
    assert r.status_code == 200, r.text
    assert r.json() == {"logged_out": False}


def test_session_expires_after_30_idle_minutes(client, lab):
    session_login(client)
    lab.clock.advance(1799)
    assert client.get("/session/me").status_code == 200  # the visit restarts the idle timer
    lab.clock.advance(1799)
    assert client.get("/session/me").status_code == 200
    lab.clock.advance(1800)
    assert_login_required(client.get("/session/me"))
    assert client.get("/lab/store/sessions").json() == []


def test_active_session_still_ends_after_8_hours(client, lab):
    session_login(client)
    for _ in range(23):  # a visit every 20 minutes, up to 7 h 40 min
        lab.clock.advance(20 * 60)
        assert client.get("/session/me").status_code == 200
    assert client.get("/session/me").json()["session"]["expires_at"] == "2030-01-01T17:00:00Z"
    lab.clock.advance(20 * 60)
    assert_login_required(client.get("/session/me"))


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    wrong = session_login(client, "alice", "not-her-password")
    unknown = session_login(client, "mallory", "alice-password")
    for r in (wrong, unknown):
        assert r.status_code == 401, r.text
        assert r.json() == WRONG_PASSWORD
        assert r.headers["www-authenticate"] == f'Cookie realm="{REALM}"'
        assert "set-cookie" not in r.headers
    assert wrong.headers == unknown.headers


def test_disabling_a_user_ends_their_session_at_once(client):
    session_id = session_cookie(session_login(client, "bob"))
    admin_patch(client, "bob", {"disabled": True})
    assert_login_required(me_with(client.app, session_id))
    assert session_login(client, "bob").json() == WRONG_PASSWORD


def test_role_change_is_visible_at_once_in_session_me(client):
    session_id = session_cookie(session_login(client, "bob"))
    admin_patch(client, "bob", {"role": "admin"})
    r = me_with(client.app, session_id)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin"


def test_login_and_logout_are_audited(client):
    session_login(client)
    session_login(client, "alice", "wrong")
    client.post("/session/logout")
    events = [{k: e[k] for k in e if k not in ("id", "at")} for e in client.get("/lab/audit").json()]
    assert events == [{"event": "login", "via": "session", "username": "alice"},
                      {"event": "login_failed", "via": "session", "username": "alice"},
                      {"event": "logout", "via": "session"}]


def test_session_ttls_follow_the_settings():
    client = make_client(session_idle_ttl=60, session_absolute_ttl=90)
    lab = client.app.state.lab
    session_login(client)
    lab.clock.advance(59)
    assert client.get("/session/me").json()["session"]["expires_at"] == "2030-01-01T09:01:30Z"
    lab.clock.advance(31)
    assert_login_required(client.get("/session/me"))


# --- login CSRF and caching ---------------------------------------------------------------------

CROSS_SITE = {"error": "forbidden",
              "error_description": "cross-site request refused: send it from this server's own pages, or not from a browser"}


@pytest.mark.parametrize("headers", [{"Origin": "null"}, {"Origin": "http://evil.example"},
                                     {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}])
def test_a_cross_site_form_cannot_log_the_browser_in(client, headers):
    # Login CSRF: the attacker's page logs the victim in as the attacker, and watches what they do.
    r = client.post("/session/login", data={"username": "bob", "password": "bob-password"}, headers=headers)
    assert r.status_code == 403, r.text
    assert r.json() == CROSS_SITE
    assert r.headers["cache-control"] == "no-store"
    assert "set-cookie" not in r.headers
    assert client.get("/lab/store/sessions").json() == []


@pytest.mark.parametrize("headers", [{}, {"Origin": "http://127.0.0.1:8000"}, {"Sec-Fetch-Site": "same-origin"}])
def test_our_own_login_page_and_non_browser_clients_may_log_in(client, headers):
    r = client.post("/session/login", data={"username": "bob", "password": "bob-password"}, headers=headers)
    assert (r.status_code, r.json()) == (200, {"username": "bob", "role": "user"})


def test_a_server_on_a_network_address_accepts_its_own_origin():
    client = make_client(host="10.0.0.5", lab_controls=False, users=(("carol", "c-s3cret", "user"),))
    r = client.post("/session/login", data={"username": "carol", "password": "c-s3cret"},
                    headers={"Origin": "http://10.0.0.5:8000"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("password", ["bob-password", "wrong"])
def test_no_login_answer_is_cached(client, password):
    r = client.post("/session/login", data={"username": "bob", "password": password})
    assert r.headers["cache-control"] == "no-store", r.status_code
