"""Refresh tokens: rotation on every use, reuse detection that revokes the family, lifetimes, revocation."""

from __future__ import annotations

import hashlib

from conftest import T0, Auth, make_client
from helpers import audit_events, bearer, claims_of, error
from labserver import Settings

DAY = 86400
REUSED = "refresh token was already used: this login is revoked, log in again"


def assert_invalid_grant(response, description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == error("invalid_grant", description)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


def refreshed(auth, refresh_token: str) -> dict:
    r = auth.refresh(refresh_token)
    assert r.status_code == 200, r.text
    return r.json()


def test_refresh_returns_a_new_refresh_token_and_a_new_access_token(auth, lab):
    login = auth.token()
    lab.clock.advance(60)
    r = auth.refresh(login["refresh_token"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"access_token": body["access_token"], "token_type": "Bearer", "expires_in": 1800,
                    "refresh_token": body["refresh_token"]}
    assert r.headers["cache-control"] == "no-store"
    assert body["refresh_token"] != login["refresh_token"]
    assert claims_of(body["access_token"])["iat"] == T0 + 60
    assert auth.get("/api/me", body["access_token"]).status_code == 200


def test_reusing_a_refresh_token_revokes_the_whole_family(client, auth):
    stolen = auth.token()["refresh_token"]
    newest = refreshed(auth, stolen)["refresh_token"]  # the legitimate holder moves on

    assert_invalid_grant(auth.refresh(stolen), REUSED)
    assert_invalid_grant(auth.refresh(newest), "refresh token has been revoked")
    assert audit_events(client, "reuse_detected", "family_revoked") == ["reuse_detected", "family_revoked"]
    revoked = [e for e in client.get("/lab/audit").json() if e["event"] == "family_revoked"]
    assert revoked[0]["reason"] == "refresh token reused"


def test_reuse_detection_leaves_the_users_other_logins_alone(auth):
    first, second = auth.token()["refresh_token"], auth.token()["refresh_token"]
    refreshed(auth, first)
    assert_invalid_grant(auth.refresh(first), REUSED)
    refreshed(auth, second)


def test_role_change_reaches_the_access_token_only_at_refresh(client, auth):
    alice = auth.token("alice")
    admin = auth.token("admin")["access_token"]
    r = client.patch("/admin/users/alice", json={"role": "admin"}, headers=bearer(admin))
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "alice", "role": "admin", "disabled": False}

    stale = auth.get("/api/admin", alice["access_token"])
    assert stale.status_code == 403, stale.text
    assert stale.json() == error("insufficient_scope", "this route needs the admin role")

    fresh = refreshed(auth, alice["refresh_token"])["access_token"]
    assert claims_of(fresh)["roles"] == ["admin"]
    r = auth.get("/api/admin", fresh)
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "welcome to the admin area", "username": "alice"}


def test_disabled_user_cannot_refresh(client, auth):
    refresh_token = auth.token("bob")["refresh_token"]
    admin = auth.token("admin")["access_token"]
    assert client.patch("/admin/users/bob", json={"disabled": True}, headers=bearer(admin)).status_code == 200
    assert_invalid_grant(auth.refresh(refresh_token), "user is disabled")
    # Disabling ended the family; the answer keeps saying why.
    assert_invalid_grant(auth.refresh(refresh_token), "user is disabled")


def test_second_use_within_the_reuse_interval_succeeds_and_after_it_is_reuse():
    client = make_client(refresh_reuse_interval=2)
    lab, auth = client.app.state.lab, Auth(client)
    first = auth.token()["refresh_token"]
    refreshed(auth, first)
    lab.clock.advance(1.999)
    second_tab = refreshed(auth, first)  # two tabs raced: both get through
    assert audit_events(client, "reuse_within_interval", "reuse_detected") == ["reuse_within_interval"]

    lab.clock.advance(0.001)
    assert_invalid_grant(auth.refresh(first), REUSED)
    assert_invalid_grant(auth.refresh(second_tab["refresh_token"]), "refresh token has been revoked")


def test_reuse_interval_is_off_by_default(auth):
    first = auth.token()["refresh_token"]
    refreshed(auth, first)
    assert_invalid_grant(auth.refresh(first), REUSED)


def test_family_ends_at_its_absolute_lifetime_however_often_it_is_used(client, auth, lab):
    token = auth.token()["refresh_token"]
    for _ in range(12):  # used every 29 days: never idle for 30
        lab.clock.advance(29 * DAY)
        token = refreshed(auth, token)["refresh_token"]
    lab.clock.advance(365 * DAY - 12 * 29 * DAY - 1)
    token = refreshed(auth, token)["refresh_token"]
    lab.clock.advance(1)
    assert_invalid_grant(auth.refresh(token), "refresh token has expired: log in again")
    assert [f["revoked_reason"] for f in client.get("/lab/store/refresh_families").json()] == [
        "absolute lifetime reached"]


def test_family_unused_for_its_idle_lifetime_expires(auth, lab):
    kept, idle = auth.token()["refresh_token"], auth.token()["refresh_token"]
    lab.clock.advance(30 * DAY - 1)
    kept = refreshed(auth, kept)["refresh_token"]
    lab.clock.advance(1)
    assert_invalid_grant(auth.refresh(idle), "refresh token has expired from disuse: log in again")
    refreshed(auth, kept)


def test_revoking_a_refresh_token_ends_its_family(client, auth):
    first = auth.token()["refresh_token"]
    newest = refreshed(auth, first)["refresh_token"]
    r = client.post("/oauth/revoke", data={"token": first, "token_type_hint": "refresh_token"})
    assert r.status_code == 200, r.text
    assert r.content == b""
    assert r.headers["cache-control"] == "no-store"
    assert_invalid_grant(auth.refresh(newest), "refresh token has been revoked")
    assert audit_events(client, "revocation", "family_revoked") == ["family_revoked", "revocation"]


def test_revocation_finds_a_refresh_token_sent_with_the_wrong_hint(client, auth):
    refresh_token = auth.token()["refresh_token"]
    r = client.post("/oauth/revoke", data={"token": refresh_token, "token_type_hint": "access_token"})
    assert r.status_code == 200, r.text
    assert_invalid_grant(auth.refresh(refresh_token), "refresh token has been revoked")


def test_revoking_an_unknown_token_answers_200(client):
    r = client.post("/oauth/revoke", data={"token": "never-issued"})
    assert r.status_code == 200, r.text
    assert r.content == b""
    assert audit_events(client, "revocation") == []


def test_unknown_refresh_token_is_an_invalid_grant(auth):
    assert_invalid_grant(auth.refresh("never-issued"), "refresh token is unknown")


def test_refresh_grant_needs_a_refresh_token(client):
    r = client.post("/oauth/token", data={"grant_type": "refresh_token"})
    assert r.status_code == 400, r.text
    assert r.json() == error("invalid_request", "parameter refresh_token is missing")


def test_refresh_tokens_are_stored_only_as_sha256_hashes(client, auth):
    first = auth.token()["refresh_token"]
    second = refreshed(auth, first)["refresh_token"]
    rows = client.get("/lab/store/refresh_tokens").json()
    assert [row["token_hash"] for row in rows] == [hashlib.sha256(t.encode()).hexdigest() for t in (first, second)]
    stored = repr(rows) + repr(client.get("/lab/store/refresh_families").json())
    assert first not in stored and second not in stored
    assert [row["used_at"] for row in rows] == [T0, None]


def test_default_lifetimes_are_the_course_numbers(client):
    settings = Settings()
    assert (settings.access_ttl, settings.refresh_absolute_ttl, settings.refresh_idle_ttl,
            settings.refresh_reuse_interval) == (1800, 365 * DAY, 30 * DAY, 0)
    view = client.get("/lab/settings").json()
    assert (view["access_ttl"], view["refresh_absolute_ttl"], view["refresh_idle_ttl"]) == (1800, 365 * DAY, 30 * DAY)
