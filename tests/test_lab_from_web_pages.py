"""The lab controls seen from a web page: DNS rebinding and cross-site form posts are refused."""

from __future__ import annotations

import pytest

from helpers import bearer, error

REBOUND = {"Host": "rebind.attacker.example:8000"}
NOT_HERE = error("forbidden", "this server answers only at 127.0.0.1:8000, localhost:8000 or [::1]:8000")
CROSS_SITE = error("forbidden", "cross-site request refused: send it from this server's own pages, or not from a browser")


@pytest.mark.parametrize("path", ["/lab/store/users", "/lab/settings", "/lab/audit", "/lab/clock"])
def test_a_rebound_name_cannot_read_the_lab_controls(client, path):
    r = client.get(path, headers=REBOUND)
    assert r.status_code == 403, r.text
    assert r.json() == NOT_HERE
    assert "seed" not in r.text and "argon2" not in r.text


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:80", "127.0.0.1:8001", "127.0.0.1.attacker.example:8000",
                                  ""])
def test_only_this_servers_own_address_and_port_is_a_host(client, host):
    r = client.post("/lab/reset", headers={"Host": host})
    assert r.status_code == 403, r.text
    assert r.json() == NOT_HERE


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST:8000", "[::1]:8000"])
def test_every_loopback_name_of_this_server_is_answered(client, host):
    r = client.get("/lab/clock", headers={"Host": host})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("headers", [
    {"Origin": "null"},                               # a form in a sandboxed iframe or a file:// page
    {"Origin": "http://evil.example"},
    {"Origin": "http://127.0.0.1:8888"},              # another local server (a notebook's page) is another origin
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},                  # localhost:8888 is same-site: ports do not count for sites
])
def test_a_cross_site_post_cannot_reset_the_store_and_undo_a_disabling(client, auth, headers):
    admin = bearer(auth.token("admin")["access_token"])
    assert client.patch("/admin/users/bob", json={"disabled": True}, headers=admin).status_code == 200
    for path in ("/lab/reset", "/lab/clock/freeze", "/lab/keys/rotate"):
        r = client.post(path, headers=headers)
        assert r.status_code == 403, (path, r.text)
        assert r.json() == CROSS_SITE
    r = client.delete("/lab/audit", headers=headers)
    assert (r.status_code, r.json()) == (403, CROSS_SITE)
    assert [u.disabled for u in client.app.state.lab.users.all()] == [False, True, False]


@pytest.mark.parametrize("headers", [{}, {"Origin": "http://127.0.0.1:8000"}, {"Origin": "http://localhost:8000"},
                                     {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}])
def test_our_own_pages_and_clients_that_are_not_browsers_may_change_state(client, headers):
    r = client.post("/lab/reset", headers=headers)
    assert (r.status_code, r.json()) == (200, {"reset": True})


def test_a_cross_site_page_may_still_send_reads_it_cannot_see(client):
    # Without CORS headers the page cannot read the answer; the Host check is what keeps rebinding out.
    assert client.get("/lab/clock", headers={"Origin": "null"}).status_code == 200
    assert "access-control-allow-origin" not in client.get("/lab/clock", headers={"Origin": "null"}).headers


def test_store_views_never_show_password_hashes(client):
    assert all("password_hash" not in row for row in client.get("/lab/store/users").json())
    assert "$argon2" not in client.get("/lab/store/users").text
