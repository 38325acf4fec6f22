"""Admin endpoints and roles: who may enter, what an admin sees and changes, and what the audit log keeps."""

from __future__ import annotations

import pytest

from helpers import REALM, audit_events, bearer, challenge, error

NEEDS_ADMIN = "this route needs the admin role"
ADMIN_ROUTES = [("GET", "/api/admin", None), ("GET", "/admin/users", None),
                ("PATCH", "/admin/users/bob", {"role": "admin"})]


@pytest.fixture
def admin(auth) -> dict[str, str]:
    return bearer(auth.token("admin")["access_token"])


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_non_admin_gets_403_insufficient_scope(client, auth, lab, method, path, body):
    r = client.request(method, path, json=body, headers=bearer(auth.token("alice")["access_token"]))
    assert r.status_code == 403, r.text
    assert r.json() == error("insufficient_scope", NEEDS_ADMIN)
    assert r.headers["www-authenticate"] == challenge("insufficient_scope", NEEDS_ADMIN)
    assert lab.users.by_name("bob").role == "user"


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_routes_without_a_token_get_a_bare_bearer_challenge(client, method, path, body):
    r = client.request(method, path, json=body)
    assert r.status_code == 401, r.text
    assert r.json() == error("missing_token", "this route needs an access token: Authorization: Bearer <token>")
    assert r.headers["www-authenticate"] == f'Bearer realm="{REALM}"'


def test_admin_lists_users_without_password_hashes(client, admin):
    r = client.get("/admin/users", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == [{"username": "alice", "role": "user", "disabled": False},
                        {"username": "bob", "role": "user", "disabled": False},
                        {"username": "admin", "role": "admin", "disabled": False}]
    assert "argon2" not in r.text


def test_admin_changes_a_role_and_the_answer_shows_the_user_now(client, admin):
    r = client.patch("/admin/users/bob", json={"role": "admin"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "bob", "role": "admin", "disabled": False}
    assert client.get("/admin/users", headers=admin).json()[1] == {"username": "bob", "role": "admin",
                                                                   "disabled": False}


def test_patch_of_an_unknown_user_is_404_in_the_standard_shape(client, admin):
    r = client.patch("/admin/users/mallory", json={"role": "admin"}, headers=admin)
    assert r.status_code == 404, r.text
    assert r.json() == error("not_found", "no user named mallory")


@pytest.mark.parametrize(("body", "description"), [
    ({"role": "root"}, "role: Input should be 'user' or 'admin'"),
    ({"role": None, "disabled": "maybe"}, "disabled: Input should be a valid boolean"),
    ({"password": "x"}, "password: Extra inputs are not permitted"),
    ([], "request: Input should be a valid dictionary or object to extract fields from"),
])
def test_patch_with_a_bad_body_is_400_invalid_request(client, admin, lab, body, description):
    r = client.patch("/admin/users/alice", json=body, headers=admin)
    assert r.status_code == 400, r.text
    assert r.json() == error("invalid_request", description)
    assert lab.users.by_name("alice").role == "user"


def test_role_changes_and_disabling_are_audited_with_who_did_it(client, admin):
    client.patch("/admin/users/alice", json={"role": "admin"}, headers=admin)
    client.patch("/admin/users/bob", json={"disabled": True}, headers=admin)
    client.patch("/admin/users/bob", json={"disabled": False}, headers=admin)
    events = [{k: e[k] for k in e if k not in ("id", "at")}
              for e in client.get("/lab/audit").json() if e["event"] not in ("login",)]
    assert events == [{"event": "role_changed", "username": "alice", "role": "admin", "by": "admin"},
                      {"event": "user_disabled", "username": "bob", "by": "admin"},
                      {"event": "user_enabled", "username": "bob", "by": "admin"}]


def test_a_patch_that_changes_nothing_records_nothing(client, admin):
    r = client.patch("/admin/users/alice", json={"role": "user", "disabled": False}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "alice", "role": "user", "disabled": False}
    assert audit_events(client, "role_changed", "user_disabled", "user_enabled") == []


def test_disabled_user_cannot_get_a_token(client, admin):
    client.patch("/admin/users/bob", json={"disabled": True}, headers=admin)
    r = client.post("/oauth/token", data={"grant_type": "password", "username": "bob",
                                          "password": "bob-password"})
    assert r.status_code == 400, r.text
    assert r.json() == error("invalid_grant", "Incorrect username or password")


def test_demoted_admin_keeps_admin_access_until_the_token_is_reissued(client, auth, admin):
    assert client.patch("/admin/users/alice", json={"role": "admin"}, headers=admin).status_code == 200
    r = client.patch("/admin/users/admin", json={"role": "user"}, headers=admin)
    assert r.status_code == 200, r.text
    assert client.get("/api/admin", headers=admin).status_code == 200  # the token still says admin
    fresh = bearer(auth.token("admin")["access_token"])
    assert client.get("/api/admin", headers=fresh).status_code == 403
