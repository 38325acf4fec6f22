"""Disabling a user ends their logins at once; the last admin cannot be disabled or demoted."""

from __future__ import annotations

import pytest

from conftest import Auth, make_client
from helpers import assert_invalid_token, bearer, error

LAST_ADMIN = error("conflict", "admin is the last admin: make another admin first")


def disable(client, admin_token: str, username: str, disabled: bool = True):
    r = client.patch(f"/admin/users/{username}", json={"disabled": disabled}, headers=bearer(admin_token))
    assert r.status_code == 200, r.text
    return r


def test_disabling_ends_every_refresh_family_of_the_user_at_once(client, auth, lab):
    phone, laptop = auth.token("bob"), auth.token("bob")
    alice = auth.token("alice")
    disable(client, auth.token("admin")["access_token"], "bob")

    families = {row["id"]: row for row in client.get("/lab/store/refresh_families").json()}
    bobs = [f for f in families.values() if f["user_id"] == 2]
    assert len(bobs) == 2
    assert all(f["revoked_reason"] == "user is disabled" and f["revoked_at"] is not None for f in bobs)
    # Re-enabling does not bring a stolen refresh token back to life.
    disable(client, auth.token("admin")["access_token"], "bob", disabled=False)
    for tokens in (phone, laptop):
        r = auth.refresh(tokens["refresh_token"])
        assert r.status_code == 400, r.text
        assert r.json() == error("invalid_grant", "user is disabled")
        assert r.headers["cache-control"] == "no-store"
    assert auth.refresh(alice["refresh_token"]).status_code == 200


def test_with_the_denylist_on_disabling_denies_the_users_live_access_tokens():
    client = make_client(denylist=True)
    auth = Auth(client)
    bob, alice = auth.token("bob"), auth.token("alice")
    assert auth.get("/api/me", bob["access_token"]).status_code == 200
    disable(client, auth.token("admin")["access_token"], "bob")
    assert_invalid_token(auth.get("/api/me", bob["access_token"]), "token has been revoked")
    assert auth.get("/api/me", alice["access_token"]).status_code == 200


@pytest.mark.parametrize("change", [{"disabled": True}, {"role": "user"}])
def test_the_last_admin_cannot_be_disabled_or_demoted(client, auth, lab, change):
    admin = auth.token("admin")["access_token"]
    r = client.patch("/admin/users/admin", json=change, headers=bearer(admin))
    assert r.status_code == 409, r.text
    assert r.json() == LAST_ADMIN
    assert [(u.username, u.role, u.disabled) for u in lab.users.all()][-1] == ("admin", "admin", False)


def test_with_another_admin_an_admin_can_step_down(client, auth, lab):
    admin = bearer(auth.token("admin")["access_token"])
    assert client.patch("/admin/users/alice", json={"role": "admin"}, headers=admin).status_code == 200
    r = client.patch("/admin/users/admin", json={"role": "user"}, headers=admin)
    assert (r.status_code, r.json()) == (200, {"username": "admin", "role": "user", "disabled": False})
    # alice is now the last admin; a disabled admin does not count as one.
    alice = bearer(auth.token("alice")["access_token"])
    r = client.patch("/admin/users/alice", json={"disabled": True}, headers=alice)
    assert (r.status_code, r.json()) == (409, error("conflict", "alice is the last admin: make another admin first"))
