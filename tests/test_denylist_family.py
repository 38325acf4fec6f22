"""With the denylist on, ending a login ends its access tokens too (RFC 7009 §2.1); without it, it can't."""

from __future__ import annotations

from conftest import Auth, make_client


def revoke(client, token):
    r = client.post("/oauth/revoke", data={"token": token})
    assert r.status_code == 200, r.text


def test_revoking_a_refresh_token_denies_every_access_token_of_that_login():
    with make_client(denylist=True) as client:
        auth = Auth(client)
        first = auth.token("alice")
        second = auth.refresh(first["refresh_token"]).json()
        other_login = auth.token("alice")

        revoke(client, second["refresh_token"])

        for token in (first["access_token"], second["access_token"]):
            r = auth.get("/api/me", token)
            assert r.status_code == 401, r.text
            assert r.json() == {"error": "invalid_token", "error_description": "token has been revoked"}
        assert auth.get("/api/me", other_login["access_token"]).status_code == 200


def test_reuse_detection_also_ends_the_thiefs_access_token_when_the_denylist_is_on():
    with make_client(denylist=True) as client:
        auth = Auth(client)
        login = auth.token("bob")
        thief = auth.refresh(login["refresh_token"]).json()  # the thief refreshes first
        assert auth.refresh(login["refresh_token"]).status_code == 400  # bob's app: reuse detected

        assert auth.get("/api/me", thief["access_token"]).status_code == 401


def test_without_the_denylist_a_revoked_login_leaves_its_access_token_working(client, auth):
    login = auth.token("alice")
    revoke(client, login["refresh_token"])
    assert auth.get("/api/me", login["access_token"]).status_code == 200
    assert client.app.state.lab.store.dump("access_tokens") == []  # and nothing was tracked
