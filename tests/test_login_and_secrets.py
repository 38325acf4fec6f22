"""Login reveals nothing: one answer and the same work for unknown users and wrong passwords; no secret
reaches the server's log or audit log."""

from __future__ import annotations

import json

import pytest

import labserver
from labserver.accounts import passwords


@pytest.fixture
def argon2_runs(monkeypatch):
    """Count argon2 verifications: the expensive step whose absence would let timing tell users apart."""
    runs = []
    real = passwords._hasher

    class CountingHasher:
        def hash(self, password, **kw):
            return real.hash(password, **kw)

        def verify(self, stored_hash, password):
            runs.append(stored_hash)
            return real.verify(stored_hash, password)

    monkeypatch.setattr(passwords, "_hasher", CountingHasher())
    return runs


@pytest.mark.parametrize("endpoint, fields, status, error", [
    ("/oauth/token", {"grant_type": "password"}, 400, "invalid_grant"),
    ("/session/login", {}, 401, "invalid_credentials"),
])
def test_unknown_user_and_wrong_password_get_one_answer_after_one_argon2_run(
        client, argon2_runs, endpoint, fields, status, error):
    unknown = client.post(endpoint, data={**fields, "username": "mallory", "password": "alice-password"})
    runs_for_unknown = len(argon2_runs)
    wrong = client.post(endpoint, data={**fields, "username": "alice", "password": "wrong-password"})

    assert unknown.status_code == wrong.status_code == status, unknown.text
    assert unknown.json() == wrong.json() == {"error": error, "error_description": "Incorrect username or password"}
    assert runs_for_unknown == 1 and len(argon2_runs) == 2
    assert argon2_runs[0] != argon2_runs[1]  # the unknown user was checked against the dummy hash


def test_a_disabled_account_gets_the_same_answer_as_a_wrong_password(client, auth):
    admin = auth.token("admin")["access_token"]
    r = client.patch("/admin/users/bob", json={"disabled": True}, headers={"Authorization": f"Bearer {admin}"})
    assert r.status_code == 200, r.text
    r = client.post("/oauth/token", data={"grant_type": "password", "username": "bob", "password": "bob-password"})
    assert r.status_code == 400, r.text
    assert r.json()["error_description"] == "Incorrect username or password"


def test_passwords_and_tokens_never_reach_the_log_or_the_audit_log():
    # Real accounts, not the demo ones (whose passwords are public and printed in the banner).
    accounts = [("alice", "alice-s3cret", "user"), ("bob", "bob-s3cret", "user")]
    with labserver.start(users=accounts) as server:
        http = server.http
        login = {"grant_type": "password", "username": "alice", "password": "alice-s3cret"}
        tokens = http.post(server.url + "/oauth/token", data=login).json()
        refreshed = http.post(server.url + "/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
        http.post(server.url + "/oauth/token", data={**login, "password": "a-wrong-guess"})
        cookie = http.post(server.url + "/session/login",
                           data={"username": "bob", "password": "bob-s3cret"}).cookies["session"]
        http.post(server.url + "/oauth/revoke", data={"token": refreshed["refresh_token"]})
        audit = json.dumps(server.audit())
        log = server.log_path.read_text()

    secrets = ["alice-s3cret", "bob-s3cret", "a-wrong-guess", cookie, tokens["access_token"],
               tokens["refresh_token"], refreshed["access_token"], refreshed["refresh_token"]]
    assert {"login", "login_failed", "refresh", "revocation"} <= {e["event"] for e in json.loads(audit)}
    for secret in secrets:
        assert secret not in audit
        assert secret not in log
