"""A server started again on the same folder carries on: store, signing keys and accounts survive a restart.

A restarted server gets a new free port. Its issuer defaults to its URL, so the tests name a fixed issuer,
as a real deployment (and coursekit.start_lab) does; the last test shows what happens without one.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager

import jwt
import pytest

import labserver

T0 = "2030-01-01T09:00:00Z"
ISSUER = "https://lab.jwt-course.test"


def password_grant(lab, username: str) -> dict:
    r = lab.http.post(lab.url + "/oauth/token", timeout=10, data={
        "grant_type": "password", "username": username, "password": f"{username}-password"})
    assert r.status_code == 200, r.text
    return r.json()


@contextmanager
def hold_port(port: int):
    """Keep a port taken, so that a server started meanwhile cannot be given it again."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            pass  # someone else has it already: taken either way
        yield


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def before_restart(tmp_path):
    """A first server on tmp_path: alice has a session, bob a token pair, and the admin made bob an admin."""
    with labserver.start(workdir=str(tmp_path), issuer=ISSUER, frozen_at=T0) as first:
        login = first.http.post(first.url + "/session/login", timeout=10,
                                data={"username": "alice", "password": "alice-password"})
        assert login.status_code == 200, login.text
        bobs = password_grant(first, "bob")
        change = first.http.patch(first.url + "/admin/users/bob", json={"role": "admin"}, timeout=10,
                                  headers=bearer(password_grant(first, "admin")["access_token"]))
        assert (change.status_code, change.json()) == (200, {"username": "bob", "role": "admin", "disabled": False})
        state = {"cookie": login.cookies["session"], "bob": bobs, "users": first.table("users"),
                 "keys": (tmp_path / "keys.json").read_text(), "port": first.port}
    assert not first.running
    return state


def test_a_server_started_again_on_the_same_folder_carries_on_where_the_first_stopped(tmp_path, before_restart):
    # stop() left the files alone: start() did not make this folder.
    assert {"keys.json", "server.log", "store.sqlite3"} <= {p.name for p in tmp_path.iterdir()}

    with labserver.start(workdir=str(tmp_path), issuer=ISSUER, frozen_at=T0) as second:
        # The session cookie from before the restart still opens the session.
        session = second.http.get(second.url + "/session/me", cookies={"session": before_restart["cookie"]},
                                  timeout=10)
        assert session.status_code == 200, session.text
        assert (session.json()["username"], session.json()["role"]) == ("alice", "user")

        # The access token from before verifies: the keys file was read, not replaced.
        old_access = before_restart["bob"]["access_token"]
        me = second.http.get(second.url + "/api/me", headers=bearer(old_access), timeout=10)
        assert me.status_code == 200, me.text
        assert (me.json()["username"], me.json()["roles"]) == ("bob", ["user"])  # issued before the role change
        assert (tmp_path / "keys.json").read_text() == before_restart["keys"]

        # The refresh token still refreshes, and the new access token carries the role kept in the store.
        refreshed = second.http.post(second.url + "/oauth/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": before_restart["bob"]["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        new_access = refreshed.json()["access_token"]
        assert jwt.decode(new_access, options={"verify_signature": False})["roles"] == ["admin"]
        admin_area = second.http.get(second.url + "/api/admin", headers=bearer(new_access), timeout=10)
        assert (admin_area.status_code, admin_area.json()) == (
            200, {"message": "welcome to the admin area", "username": "bob"})

        # Seeding found the accounts there: same rows, bob still an admin.
        users = second.table("users")
        assert users == before_restart["users"]
        assert [(u["username"], u["role"]) for u in users] == [("alice", "user"), ("bob", "admin"),
                                                               ("admin", "admin")]

        log = second.log_path.read_text()
    assert log.count("JWT course lab server on") == 2  # one log, both runs
    assert "Traceback" not in log


def test_without_a_fixed_issuer_a_restart_on_a_new_port_refuses_the_old_access_tokens(tmp_path):
    with labserver.start(workdir=str(tmp_path), frozen_at=T0) as first:
        tokens = password_grant(first, "alice")
    with hold_port(first.port), labserver.start(workdir=str(tmp_path), frozen_at=T0) as second:
        assert second.port != first.port
        me = second.http.get(second.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
        refreshed = second.http.post(second.url + "/oauth/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})

    # Same keys, but the issuer is the server's URL, and that changed with the port.
    assert (me.status_code, me.json()) == (401, {"error": "invalid_token",
                                                 "error_description": "token is from another issuer"})
    assert refreshed.status_code == 200, refreshed.text  # refresh tokens are opaque rows in the store
