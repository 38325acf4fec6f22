"""JWT access tokens (RFC 9068 profile): the token response, the claims, and every way verification says no."""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from conftest import T0, Auth, make_client
from helpers import (assert_invalid_token, b64url_json, bearer, claims_of, error, forge, header_of,
                     hs256, sign, unb64url, valid_claims)

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def test_token_response_has_the_rfc_6749_shape_and_is_never_cached(client):
    r = client.post("/oauth/token", data={"grant_type": "password", "username": "alice",
                                          "password": "alice-password"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    assert body["refresh_token"] and body["refresh_token"] != body["access_token"]
    assert r.headers["content-type"] == "application/json"
    assert {k: r.headers[k] for k in NO_STORE} == NO_STORE


def test_access_token_header_names_its_type_and_key(auth, lab):
    header = header_of(auth.token()["access_token"])
    assert header == {"alg": "HS256", "typ": "at+jwt", "kid": lab.keys.active.kid}


def test_access_token_carries_the_rfc_9068_claims(auth, lab):
    claims = claims_of(auth.token("bob")["access_token"])
    bob = lab.users.by_name("bob")
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "username", "roles"}
    assert claims["iss"] == "http://127.0.0.1:8000" == lab.settings.issuer_id
    assert claims["sub"] == str(bob.id)
    assert claims["aud"] == "lab-api"
    assert claims["client_id"] == "jwt-course"
    assert claims["username"] == "bob"
    assert claims["roles"] == ["user"]
    assert claims["iat"] == T0
    assert claims["exp"] - claims["iat"] == 1800


def test_every_access_token_gets_its_own_jti(auth):
    jtis = {claims_of(auth.token()["access_token"])["jti"] for _ in range(3)}
    assert len(jtis) == 3


@pytest.mark.parametrize("algorithm", ["HS256", "RS256", "ES256", "EdDSA"])
def test_token_signed_with_each_algorithm_opens_api_me(algorithm):
    client = make_client(algorithm=algorithm)
    token = Auth(client).token("alice")["access_token"]
    assert header_of(token)["alg"] == algorithm
    r = client.get("/api/me", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "alice", "roles": ["user"], "sub": "1", "exp": T0 + 1800}


def test_tampered_payload_fails_the_signature_check(client, auth):
    head, payload, signature = auth.token("alice")["access_token"].split(".")
    claims = json.loads(unb64url(payload))
    claims["roles"] = ["admin"]
    forged = f"{head}.{b64url_json(claims)}.{signature}"
    r = client.get("/api/admin", headers=bearer(forged))
    assert_invalid_token(r, "signature is invalid")
    assert r.headers["www-authenticate"] == (
        'Bearer realm="labserver", error="invalid_token", error_description="signature is invalid"')


def test_unsigned_alg_none_token_is_rejected(client, lab):
    header = {"alg": "none", "typ": "at+jwt", "kid": lab.keys.active.kid}
    unsigned = f"{b64url_json(header)}.{b64url_json(valid_claims(lab, roles=['admin']))}."
    r = client.get("/api/admin", headers=bearer(unsigned))
    assert_invalid_token(r, "algorithm must be HS256")


def test_hs256_token_signed_with_the_rs256_public_key_is_rejected():
    client = make_client(algorithm="RS256")
    lab = client.app.state.lab
    public_pem = lab.keys.active.verifying_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": lab.keys.active.kid}
    confused = hs256(header, valid_claims(lab, roles=["admin"]), public_pem)
    assert_invalid_token(client.get("/api/admin", headers=bearer(confused)), "algorithm must be RS256")


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jws", None])
def test_token_type_must_be_at_jwt(client, lab, typ):
    token = sign(lab, valid_claims(lab), typ=typ)
    assert_invalid_token(client.get("/api/me", headers=bearer(token)), "token type must be at+jwt")


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_media_type_spellings_of_at_jwt_are_accepted(client, lab, typ):
    r = client.get("/api/me", headers=bearer(sign(lab, valid_claims(lab), typ=typ)))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"])
def test_token_without_a_required_claim_is_rejected(client, lab, claim):
    r = client.get("/api/me", headers=bearer(forge(lab, **{claim: None})))
    assert_invalid_token(r, f"token has no {claim} claim")


@pytest.mark.parametrize(("changes", "description"), [
    ({"aud": "another-api"}, "token is meant for another audience"),
    ({"aud": ["another-api", "billing-api"]}, "token is meant for another audience"),
    ({"iss": "https://evil.example"}, "token is from another issuer"),
])
def test_token_for_another_audience_or_from_another_issuer_is_rejected(client, lab, changes, description):
    assert_invalid_token(client.get("/api/me", headers=bearer(forge(lab, **changes))), description)


def test_token_expires_exactly_at_exp_without_leeway(client, auth, lab):
    token = auth.token()["access_token"]
    lab.clock.advance(1799)
    assert auth.get("/api/me", token).status_code == 200
    lab.clock.advance(1)
    assert_invalid_token(auth.get("/api/me", token), "token has expired")


def test_leeway_accepts_a_token_up_to_but_not_including_leeway_seconds_after_exp():
    client = make_client(leeway=60)
    lab, auth = client.app.state.lab, Auth(client)
    token = auth.token()["access_token"]
    lab.clock.advance(1800 + 59)
    assert auth.get("/api/me", token).status_code == 200
    lab.clock.advance(1)
    assert_invalid_token(auth.get("/api/me", token), "token has expired")


def test_token_not_valid_yet_is_rejected_until_nbf(client, lab):
    token = forge(lab, nbf=T0 + 10)
    assert_invalid_token(client.get("/api/me", headers=bearer(token)), "token is not valid yet")
    lab.clock.advance(10)
    assert client.get("/api/me", headers=bearer(token)).status_code == 200


def test_token_issued_in_the_future_is_rejected(client, lab):
    token = forge(lab, iat=T0 + 1, exp=T0 + 1801)
    assert_invalid_token(client.get("/api/me", headers=bearer(token)), "token was issued in the future")


def test_token_with_unknown_kid_is_rejected(client, lab):
    assert_invalid_token(client.get("/api/me", headers=bearer(sign(lab, valid_claims(lab), kid="nope"))),
                         "unknown key id")


def test_token_from_another_server_instance_is_rejected(client):
    other = make_client()
    token = Auth(other).token()["access_token"]
    assert_invalid_token(client.get("/api/me", headers=bearer(token)), "unknown key id")


def test_token_with_our_kid_but_another_key_fails_the_signature_check(client, lab):
    claims = valid_claims(lab)
    token = jwt.encode(claims, b"x" * 32, algorithm="HS256", headers={"typ": "at+jwt", "kid": lab.keys.active.kid})
    assert_invalid_token(client.get("/api/me", headers=bearer(token)), "signature is invalid")


def test_rotated_key_verifies_its_tokens_until_they_expire_then_leaves_the_jwks():
    client = make_client(algorithm="RS256")
    lab, auth = client.app.state.lab, Auth(client)
    old_token = auth.token()["access_token"]
    old_kid = header_of(old_token)["kid"]

    r = client.post("/lab/keys/rotate")
    assert r.status_code == 200, r.text
    new_kid = r.json()["kid"]
    assert r.json() == {"kid": new_kid, "previous_kid": old_kid}
    assert new_kid != old_kid

    assert header_of(auth.token()["access_token"])["kid"] == new_kid
    assert auth.get("/api/me", old_token).status_code == 200
    assert [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]] == [old_kid, new_kid]

    # The old key is kept for one access-token lifetime after rotation: as long as its last token lives.
    lab.clock.advance(1799)
    assert auth.get("/api/me", old_token).status_code == 200
    lab.clock.advance(1)
    assert [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]] == [new_kid]
    assert_invalid_token(auth.get("/api/me", old_token), "unknown key id")
    fresh = auth.token()["access_token"]
    assert header_of(fresh)["kid"] == new_kid
    assert auth.get("/api/me", fresh).status_code == 200


def test_access_tokens_cannot_be_revoked_without_a_denylist(client, auth):
    token = auth.token()["access_token"]
    r = client.post("/oauth/revoke", data={"token": token, "token_type_hint": "access_token"})
    assert r.status_code == 400, r.text
    assert r.json() == error("unsupported_token_type",
                             "access tokens cannot be revoked here; they expire on their own")
    assert r.headers["cache-control"] == "no-store"
    assert auth.get("/api/me", token).status_code == 200


def test_api_me_reads_nothing_from_the_store_without_a_denylist(client, auth):
    token = auth.token()["access_token"]
    client.delete("/lab/stats")
    assert auth.get("/api/me", token).status_code == 200
    assert client.get("/lab/stats").json()["GET /api/me"] == {"requests": 1, "reads": 0, "writes": 0}


def test_denylist_revokes_an_access_token_at_once_at_the_cost_of_a_store_read():
    client = make_client(denylist=True)
    auth = Auth(client)
    token, other = auth.token()["access_token"], auth.token()["access_token"]
    client.delete("/lab/stats")
    assert auth.get("/api/me", token).status_code == 200
    assert client.get("/lab/stats").json()["GET /api/me"] == {"requests": 1, "reads": 1, "writes": 0}

    r = client.post("/oauth/revoke", data={"token": token, "token_type_hint": "access_token"})
    assert r.status_code == 200, r.text
    assert r.content == b""
    assert r.headers["cache-control"] == "no-store"
    assert_invalid_token(auth.get("/api/me", token), "token has been revoked")
    assert auth.get("/api/me", other).status_code == 200
    assert client.app.state.lab.store.dump("denylist") == [{"jti": claims_of(token)["jti"], "exp": T0 + 1800}]
