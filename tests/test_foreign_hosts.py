"""Logins and logout, seen from other sites' pages: a rebound name and a cross-site form are refused.

Each test sends the attacker's request (a rebinding page's Host, another site's form) beside the owner's.
"""

from __future__ import annotations

import pytest

from conftest import make_client
from helpers import error

REBOUND = {"Host": "rebind.attacker.example:8000"}
NOT_HERE = error("forbidden", "this server answers only at 127.0.0.1:8000, localhost:8000 or [::1]:8000")
CROSS_SITE = error("forbidden", "cross-site request refused: send it from this server's own pages, or not from a browser")
LOGINS = {
    "token": ("/oauth/token", {"grant_type": "password", "username": "alice", "password": "alice-password"}),
    "session": ("/session/login", {"username": "alice", "password": "alice-password"}),
}


@pytest.mark.parametrize("route", LOGINS)
def test_a_rebinding_page_cannot_log_in_through_its_own_name(client, route):
    path, form = LOGINS[route]
    attacker = client.post(path, data=form, headers=REBOUND)
    assert (attacker.status_code, attacker.json()) == (403, NOT_HERE)
    assert "set-cookie" not in attacker.headers
    owner = client.post(path, data=form)
    assert owner.status_code == 200, owner.text


def test_a_cross_site_logout_is_refused_and_touches_no_cookie(client):
    assert client.post("/session/login", data=LOGINS["session"][1]).status_code == 200
    session = client.cookies["session"]
    for headers in ({"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "Cross-Site"}, {"Sec-Fetch-Site": "SAME-SITE"}):  # any casing
        # The attacker's form arrives without the cookie (SameSite): its answer must not delete the victim's.
        request = client.build_request("POST", "/session/logout", headers=headers)
        request.headers.pop("cookie", None)
        attacker = client.send(request)
        assert (attacker.status_code, attacker.json()) == (403, CROSS_SITE), headers
        assert "set-cookie" not in attacker.headers
    assert len(client.app.state.lab.store.dump("sessions")) == 1
    owner = client.post("/session/logout", headers={"Origin": "http://127.0.0.1:8000"})
    assert (owner.status_code, owner.json()) == (200, {"logged_out": True})
    assert owner.headers["set-cookie"].startswith('session=""; ') and "Max-Age=0" in owner.headers["set-cookie"]
    assert client.app.state.lab.store.dump("sessions") == [] and session


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "http://127.0.0.1:9999", "Sec-Fetch-Site": "same-site"},
                                     {"Sec-Fetch-Site": "Cross-Site"}], ids=["other-site", "other-port", "casing"])
def test_a_form_from_another_page_can_neither_lock_an_account_nor_end_a_login(client, headers):
    # A page on another site, or another user's server on another port, auto-posting wrong passwords to the
    # token endpoint used to count as failed logins: eleven locked the owner out, fifty-one the whole address.
    wrong = {"grant_type": "password", "username": "alice", "password": "guess"}
    for _ in range(11):
        attacker = client.post("/oauth/token", data=wrong, headers=headers)
        assert (attacker.status_code, attacker.json()) == (403, CROSS_SITE)
    owner = client.post("/oauth/token", data=LOGINS["token"][1])
    assert owner.status_code == 200, owner.text
    attacker = client.post("/oauth/revoke", data={"token": owner.json()["refresh_token"]}, headers=headers)
    assert (attacker.status_code, attacker.json()) == (403, CROSS_SITE)
    renewed = client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                "refresh_token": owner.json()["refresh_token"]})
    assert renewed.status_code == 200, renewed.text


def test_the_labs_own_page_still_logs_in_and_revokes(client):
    own = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"}
    login = client.post("/oauth/token", data=LOGINS["token"][1], headers=own)
    assert login.status_code == 200, login.text
    assert client.post("/oauth/revoke", data={"token": login.json()["refresh_token"]}, headers=own).status_code == 200


def test_a_logout_without_a_cookie_sets_none(client):
    r = client.post("/session/logout")
    assert (r.status_code, r.json()) == (200, {"logged_out": False})
    assert "set-cookie" not in r.headers


def test_a_server_on_a_network_address_answers_to_the_names_configured_for_it():
    client = make_client(host="0.0.0.0", lab_controls=False, server_names=("class.example.edu",))
    form = LOGINS["token"][1]
    named = client.post("/oauth/token", data=form, headers={"Host": "class.example.edu:8000"})
    assert named.status_code == 400 and named.json()["error"] == "invalid_grant"  # reached: no demo accounts here
    rebound = client.post("/oauth/token", data=form, headers=REBOUND)
    assert rebound.status_code == 403
    assert rebound.json() == error("forbidden", "this server answers only at 127.0.0.1:8000, localhost:8000, "
                                                "[::1]:8000 or class.example.edu:8000 (name others with --server-name)")


@pytest.mark.parametrize("name", ["", "class.example.edu:8000", "http://class.example.edu", "a b"])
def test_a_server_name_is_a_bare_host_name(name):
    from labserver import Settings

    with pytest.raises(ValueError, match="must be a host name without port"):
        Settings(host="0.0.0.0", lab_controls=False, server_names=(name,))
