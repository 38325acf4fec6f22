"""A stock OAuth 2 client library works against the lab server with no custom code.

requests-oauthlib's LegacyApplicationClient is the Resource Owner Password Credentials grant of RFC 6749
§4.3; refresh_token() is §6. If the token endpoint strayed from the RFC (form encoding, client
authentication, the §5.1 answer, the §5.2 errors), oauthlib would refuse or misread it.
"""

from __future__ import annotations

import pytest
from oauthlib.oauth2 import InvalidClientError, InvalidGrantError, LegacyApplicationClient
from requests_oauthlib import OAuth2Session

import labserver

CLIENT_ID = "jwt-course"


@pytest.fixture(scope="module")
def server():
    with labserver.start() as lab:
        yield lab


@pytest.fixture
def oauth(monkeypatch):
    # oauthlib refuses plain http unless told otherwise; this is a loopback lab server.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")

    def session(client_id: str = CLIENT_ID) -> OAuth2Session:
        client = OAuth2Session(client=LegacyApplicationClient(client_id=client_id))
        client.trust_env = False  # no proxy, no CA bundle from this machine's environment
        return client

    return session


def test_fetch_token_logs_in_and_the_session_then_calls_the_api_with_the_token(server, oauth):
    client = oauth()

    token = client.fetch_token(server.url + "/oauth/token", username="alice", password="alice-password")

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 1800
    assert {"access_token", "refresh_token", "expires_at"} <= set(token)
    me = client.get(server.url + "/api/me", timeout=10)
    assert me.status_code == 200, me.text
    assert (me.json()["username"], me.json()["roles"]) == ("alice", ["user"])


def test_refresh_token_rotates_the_pair_and_the_refreshed_access_token_works(server, oauth):
    client = oauth()
    first = client.fetch_token(server.url + "/oauth/token", username="bob", password="bob-password")

    second = client.refresh_token(server.url + "/oauth/token", refresh_token=first["refresh_token"])

    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert client.token["access_token"] == second["access_token"]
    me = server.http.get(server.url + "/api/me", headers={"Authorization": f"Bearer {second['access_token']}"},
                         timeout=10)
    assert (me.status_code, me.json()["username"]) == (200, "bob")
    assert client.get(server.url + "/api/me", timeout=10).status_code == 200

    # The used refresh token is refused the way RFC 6749 §5.2 says, and oauthlib reads it as such.
    with pytest.raises(InvalidGrantError) as refused:
        oauth().refresh_token(server.url + "/oauth/token", refresh_token=first["refresh_token"])
    assert refused.value.status_code == 400
    assert refused.value.description == "refresh token was already used: this login is revoked, log in again"


def test_a_wrong_password_is_an_invalid_grant_error_in_the_client(server, oauth):
    with pytest.raises(InvalidGrantError) as refused:
        oauth().fetch_token(server.url + "/oauth/token", username="alice", password="wrong-password")

    assert refused.value.status_code == 400
    assert refused.value.description == "Incorrect username or password"


def test_an_unknown_client_is_an_invalid_client_error_in_the_client(server, oauth):
    with pytest.raises(InvalidClientError) as refused:
        oauth("someone-else").fetch_token(server.url + "/oauth/token", username="alice", password="alice-password")

    assert refused.value.status_code == 401
    assert refused.value.description == "unknown client; this server knows one client: jwt-course"
