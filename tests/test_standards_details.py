"""Standards details: revocation of invalid tokens (RFC 7009 §2.2), padded signatures (RFC 7515 §2), client id
in HTTP Basic (RFC 6749 §2.3.1), scope (RFC 6749 §3.3) and aud as an array (RFC 7519 §4.1.3)."""

from __future__ import annotations

import base64

import pytest

from conftest import make_client
from helpers import assert_invalid_token, bearer, error, forge
from labserver.web.errors import InvalidToken

PASSWORD = {"grant_type": "password", "username": "alice", "password": "alice-password"}


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


# --- RFC 7009 §2.2: invalid tokens get 200 -----------------------------------------------------------

@pytest.mark.parametrize("denylist", [False, True])
@pytest.mark.parametrize("token", ["a.b.c", "e30.e30.e30", "not-a-token", "x" * 40 + ".y.z"])
def test_revoking_an_invalid_or_malformed_token_is_200(denylist, token):
    client = make_client(denylist=denylist)
    r = client.post("/oauth/revoke", data={"token": token})
    assert (r.status_code, r.content) == (200, b""), r.text
    assert r.headers["cache-control"] == "no-store"


def test_revoking_an_expired_access_token_without_a_denylist_is_200(client, auth, lab):
    token = auth.token()["access_token"]
    lab.clock.advance(31 * 60)
    r = client.post("/oauth/revoke", data={"token": token, "token_type_hint": "access_token"})
    assert (r.status_code, r.content) == (200, b"")


def test_a_valid_access_token_without_a_denylist_is_still_an_unsupported_type(client, auth):
    r = client.post("/oauth/revoke", data={"token": auth.token()["access_token"]})
    assert r.status_code == 400, r.text
    assert r.json() == error("unsupported_token_type", "access tokens cannot be revoked here; they expire on their own")


# --- RFC 7515 §2: base64url without padding -----------------------------------------------------------

def padded(token: str, segment: int) -> str:
    parts = token.split(".")
    parts[segment] += "=" * (-len(parts[segment]) % 4 or 4)
    return ".".join(parts)


def test_a_padded_signature_is_refused(client, lab):
    token = forge(lab)
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    assert_invalid_token(client.get("/api/me", headers=bearer(padded(token, 2))), "token is malformed")


@pytest.mark.parametrize("segment", [0, 1, 2])
def test_verification_refuses_padding_in_any_segment(lab, segment):
    with pytest.raises(InvalidToken, match="token is malformed"):
        lab.tokens.verify(padded(forge(lab), segment), lab.now())


# --- RFC 6749 §2.3.1: the client id in HTTP Basic ----------------------------------------------------

def test_the_client_id_in_basic_is_form_urlencoded_and_decoded():
    client = make_client(client_id="course app/1")
    r = client.post("/oauth/token", data=PASSWORD, headers=basic("course+app%2F1:"))
    assert r.status_code == 200, r.text


def test_basic_and_a_different_form_client_id_together_are_refused(client):
    r = client.post("/oauth/token", data={**PASSWORD, "client_id": "jwt-course"}, headers=basic("other:"))
    assert r.status_code == 400, r.text
    assert r.json() == error("invalid_request", "the client is named twice, differently: in HTTP Basic and in client_id")
    assert r.headers["cache-control"] == "no-store"
    r = client.post("/oauth/token", data={**PASSWORD, "client_id": "jwt-course"}, headers=basic("jwt-course:"))
    assert r.status_code == 200, r.text


# --- RFC 6749 §3.3: scope honoured or refused ----------------------------------------------------------

@pytest.mark.parametrize("grant", ["password", "refresh_token"])
def test_a_requested_scope_is_refused_not_silently_dropped(client, auth, grant):
    form = PASSWORD if grant == "password" else {"grant_type": "refresh_token",
                                                 "refresh_token": auth.token()["refresh_token"]}
    r = client.post("/oauth/token", data={**form, "scope": "admin"})
    assert r.status_code == 400, r.text
    assert r.json() == error("invalid_scope", "this server issues no scopes: leave scope out (what a token allows "
                                              "comes from the account's role)")
    assert r.headers["cache-control"] == "no-store"


# --- RFC 7519 §4.1.3: aud may be an array --------------------------------------------------------------

def test_aud_as_an_array_containing_the_audience_is_accepted(client, lab):
    r = client.get("/api/me", headers=bearer(forge(lab, aud=["billing-api", "lab-api"])))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("aud", "description"), [
    (["billing-api"], "token is meant for another audience"),
    ([], "token has no aud claim"),
    (["lab-api", 7], "token is meant for another audience"),
])
def test_aud_arrays_without_the_audience_are_refused(client, lab, aud, description):
    assert_invalid_token(client.get("/api/me", headers=bearer(forge(lab, aud=aud))), description)
