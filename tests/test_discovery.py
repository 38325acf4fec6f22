"""Discovery (RFC 8414 metadata, RFC 7517 JWK Set) and how a stock OAuth 2 client authenticates."""

from __future__ import annotations

import base64

import jwt
import pytest
from oauthlib.oauth2 import LegacyApplicationClient

from conftest import Auth, make_client
from helpers import error, header_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}
PUBLIC_MEMBERS = {
    "RS256": {"kty", "n", "e", "kid", "alg", "use"},
    "ES256": {"kty", "crv", "x", "y", "kid", "alg", "use"},
    "EdDSA": {"kty", "crv", "x", "kid", "alg", "use"},
}
UNKNOWN_CLIENT = error("invalid_client", "unknown client; this server knows one client: jwt-course")


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def password_grant(**extra) -> dict[str, str]:
    return {"grant_type": "password", "username": "alice", "password": "alice-password", **extra}


def test_metadata_lists_the_endpoints_and_what_they_support(client):
    r = client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "issuer": "http://127.0.0.1:8000",
        "authorization_endpoint": "http://127.0.0.1:8000/oauth/authorize",
        "token_endpoint": "http://127.0.0.1:8000/oauth/token",
        "revocation_endpoint": "http://127.0.0.1:8000/oauth/revoke",
        "jwks_uri": "http://127.0.0.1:8000/.well-known/jwks.json",
        "grant_types_supported": ["authorization_code", "password", "refresh_token"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
    }


def test_metadata_issuer_is_the_issuer_of_the_tokens_and_its_endpoints_are_where_the_server_answers():
    client = make_client(issuer="https://auth.example", port=9443)
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == "https://auth.example" == client.app.state.lab.settings.issuer_id
    assert metadata["token_endpoint"] == "http://127.0.0.1:9443/oauth/token"
    for name in ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "jwks_uri"):
        assert client.get(metadata[name]).status_code != 404, name  # the client can follow each one
    assert jwt.decode(Auth(client).token()["access_token"], options={"verify_signature": False})["iss"] == (
        "https://auth.example")


def test_jwks_is_empty_for_hs256_whose_key_is_a_shared_secret(client):
    r = client.get("/.well-known/jwks.json")
    assert r.status_code == 200, r.text
    assert r.json() == {"keys": []}


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_jwks_publishes_one_public_key_and_no_private_members(algorithm):
    client = make_client(algorithm=algorithm)
    (key,) = client.get("/.well-known/jwks.json").json()["keys"]
    assert set(key) == PUBLIC_MEMBERS[algorithm]
    assert not PRIVATE_MEMBERS & set(key)
    assert (key["kid"], key["alg"], key["use"]) == (client.app.state.lab.keys.active.kid, algorithm, "sig")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_token_verifies_with_pyjwt_using_only_the_published_jwks(algorithm):
    client = make_client(algorithm=algorithm, frozen_at=None)  # PyJWT checks exp and iat by the wall clock
    token = Auth(client).token()["access_token"]
    jwks = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    key = jwks[header_of(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience="lab-api",
                        issuer=metadata["issuer"], options={"require": ["exp", "iat", "sub", "jti"]})
    assert (claims["username"], claims["roles"]) == ("alice", ["user"])


@pytest.mark.parametrize("headers", [{}, basic("jwt-course:"), basic("jwt-course")], ids=["none", "basic", "no-colon"])
def test_token_endpoint_accepts_the_public_client_in_the_form_or_in_basic(client, headers):
    for form in (password_grant(), password_grant(client_id="jwt-course")):
        r = client.post("/oauth/token", data=form, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(("form", "headers"), [
    (password_grant(client_id="other"), {}),
    (password_grant(), basic("other:")),
    (password_grant(client_id="other"), basic("other:secret")),
    (password_grant(client_id="JWT-COURSE"), {}),
], ids=["form", "basic", "both-name-another-client", "case-matters"])
def test_token_endpoint_refuses_other_clients_with_a_basic_challenge(client, form, headers):
    r = client.post("/oauth/token", data=form, headers=headers)
    assert r.status_code == 401, r.text
    assert r.json() == UNKNOWN_CLIENT
    assert r.headers["www-authenticate"] == 'Basic realm="labserver"'
    assert r.headers["cache-control"] == "no-store"


def test_revocation_endpoint_refuses_other_clients_too(client):
    r = client.post("/oauth/revoke", data={"token": "x"}, headers=basic("other:"))
    assert r.status_code == 401, r.text
    assert r.json() == UNKNOWN_CLIENT


def test_a_stock_oauth2_client_can_log_in_and_refresh(client):
    oauth = LegacyApplicationClient("jwt-course")
    body = oauth.prepare_request_body(username="alice", password="alice-password", include_client_id=True)
    r = client.post("/oauth/token", content=body, headers=FORM)
    assert r.status_code == 200, r.text
    token = oauth.parse_request_body_response(r.text)
    assert (token["token_type"], token["expires_in"]) == ("Bearer", 1800)
    assert oauth.access_token == token["access_token"]

    r = client.post("/oauth/token", content=oauth.prepare_refresh_body(refresh_token=token["refresh_token"]),
                    headers=FORM)
    assert r.status_code == 200, r.text
    assert oauth.parse_request_body_response(r.text)["refresh_token"] != token["refresh_token"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {oauth.access_token}"})
    assert me.json()["username"] == "alice"
