"""coursekit.labtools.client, the helpers the lessons share, and coursekit.labtools.lab.fresh_lab, the servers exercise checks use."""

from __future__ import annotations

import jwt
import pytest
import requests

from coursekit.labtools.client import api, bearer, claims, http_session, lab_time, log_in
from coursekit.labtools.lab import COURSE_START, fresh_lab, start_lab, stop_fresh_labs, stop_lab
from labserver.control.clock import parse_instant


@pytest.fixture(scope="module")
def lab():
    yield start_lab("test-client")
    stop_lab("test-client")


# --- the client helpers ----------------------------------------------------------------------------

def test_log_in_returns_the_token_response_with_the_demo_password_by_default(lab):
    tokens = log_in(lab, "bob")
    assert sorted(tokens) == ["access_token", "expires_in", "refresh_token", "token_type"]
    assert claims(tokens["access_token"])["username"] == "bob"
    assert log_in(lab, "bob", "bob-password")["token_type"] == "Bearer"


def test_log_in_returns_a_refusal_instead_of_raising(lab):
    assert log_in(lab, "bob", "not-his-password") == {
        "error": "invalid_grant", "error_description": "Incorrect username or password"}


def test_bearer_is_the_rfc_6750_header(lab):
    token = log_in(lab, "alice")["access_token"]
    assert bearer(token) == {"Authorization": f"Bearer {token}"}
    assert requests.get(lab.url + "/api/me", headers=bearer(token), timeout=10).status_code == 200


def test_claims_reads_the_payload_without_verifying_anything(lab):
    token = log_in(lab, "alice")["access_token"]
    payload = claims(token)
    assert payload == jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**payload, "roles": ["admin"]}, "not-the-lab-secret-but-32-bytes-long", algorithm="HS256")
    assert claims(forged)["roles"] == ["admin"]  # read all the same: claims() is for looking, not trusting


def test_lab_time_is_the_utc_time_of_day():
    assert lab_time(parse_instant(COURSE_START)) == "09:00:00"
    assert lab_time(parse_instant(COURSE_START) + 30 * 60 + 5) == "09:30:05"


def test_api_prints_the_status_code_and_the_answer(lab, capsys):
    token = log_in(lab, "alice")["access_token"]
    api(lab, "/api/me", token)
    api(lab, "/api/admin", token)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("200 {'username': 'alice', 'roles': ['user']")
    assert printed[1] == "403 {'error': 'insufficient_scope', 'error_description': 'this route needs the admin role'}"


def test_http_session_ignores_proxy_settings_from_the_environment():
    with http_session() as session:
        assert session.trust_env is False
        assert not session.cookies


# --- fresh_lab: servers for checks -----------------------------------------------------------------

def test_fresh_lab_is_reset_before_each_use():
    server = fresh_lab()
    admin = log_in(server, "admin")["access_token"]
    requests.patch(server.url + "/admin/users/bob", json={"disabled": True}, headers=bearer(admin), timeout=10)
    server.clock.advance(hours=5)

    again = fresh_lab()
    assert again is server  # the same process: a reset takes milliseconds, a start half a second
    assert again.clock.state()["iso"] == COURSE_START
    assert again.table("refresh_families") == []
    assert "access_token" in log_in(again, "bob")  # bob is no longer disabled


def test_fresh_lab_keeps_one_server_per_set_of_settings():
    plain, deny = fresh_lab(), fresh_lab(denylist=True)
    assert plain.url != deny.url
    assert (plain.settings.denylist, deny.settings.denylist) == (False, True)
    assert fresh_lab(denylist=True) is deny


def test_fresh_labs_are_separate_from_the_notebooks_labs(lab):
    server = fresh_lab()
    stop_fresh_labs()
    assert not server.running
    assert lab.running  # the notebook's lab is untouched
    replacement = fresh_lab()  # the next check starts a new one
    assert replacement.running and replacement is not server


def test_start_labs_starts_several_named_servers_side_by_side():
    from coursekit.labtools.lab import start_labs

    servers = start_labs(p1={"algorithm": "ES256"}, p2={"access_ttl": 60})
    try:
        assert sorted(servers) == ["p1", "p2"]
        assert servers["p1"].settings.algorithm == "ES256" and servers["p2"].settings.access_ttl == 60
        assert all(s.running for s in servers.values()) and servers["p1"].url != servers["p2"].url
    finally:
        stop_lab("p1")
        stop_lab("p2")
