"""The attack battery: every attack of the server's security review, kept running so a regression is a red test.

Part 1 is the forgeries, which never worked: each must get 401 invalid_token with the RFC 6750 challenge,
on the admin route (each forged token claims the admin role). Part 2 is the attacks that once worked
(demo accounts, the lab controls from a web page, brute force, live logins of disabled users, login CSRF,
replicas, unbounded input, files, standards details), each in its shortest form; the modules named in
each section test the fix in depth. The OpenAPI document is checked by tests/test_openapi_truth.py.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

import labserver
from conftest import T0, Auth, make_client
from helpers import (assert_invalid_token, b64url_json, bearer, error, forge, hs256, sign,
                     valid_claims)

ADMIN = {"roles": ["admin"], "username": "admin", "sub": "3"}


# --- Part 1: forged access tokens ---------------------------------------------------------------------

def _none(lab, alg="none"):
    header = {"alg": alg, "typ": "at+jwt", "kid": lab.keys.active.kid}
    return f"{b64url_json(header)}.{b64url_json(valid_claims(lab, **ADMIN))}."


def _tampered(lab):
    head, _body, signature = forge(lab).split(".")
    return f"{head}.{b64url_json(valid_claims(lab, **ADMIN))}.{signature}"


def _attacker_rsa():
    return rsa.generate_private_key(65537, 2048)


def _embedded_jwk(lab):
    # RFC 7515 §4.1.3: a jwk header carrying the attacker's own public key, and the server's kid.
    key = _attacker_rsa()
    public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return jwt.encode(valid_claims(lab, **ADMIN), key, algorithm="RS256",
                      headers={"typ": "at+jwt", "kid": lab.keys.active.kid, "jwk": public})


def _jku(lab):
    # RFC 7515 §4.1.2: a jku pointing at the attacker's key set.
    return jwt.encode(valid_claims(lab, **ADMIN), _attacker_rsa(), algorithm="RS256",
                      headers={"typ": "at+jwt", "kid": lab.keys.active.kid, "jku": "https://attacker.example/jwks"})


def _weak_secret(lab):
    return hs256({"alg": "HS256", "typ": "at+jwt", "kid": lab.keys.active.kid}, valid_claims(lab, **ADMIN),
                 b"secret")


def _empty_signature(lab):
    return forge(lab, **ADMIN).rsplit(".", 1)[0] + "."


def _padded_signature(lab):
    token = forge(lab, **ADMIN)
    return token + "=" * (-len(token.rsplit(".", 1)[1]) % 4 or 4)


FORGERIES = {
    "alg none": (_none, "algorithm must be HS256"),
    "alg None": (lambda lab: _none(lab, "None"), "algorithm must be HS256"),
    "alg RS256 on an HS256 server": (_jku, "algorithm must be HS256"),
    "tampered payload": (_tampered, "signature is invalid"),
    "weak guessed secret": (_weak_secret, "signature is invalid"),
    "empty signature": (_empty_signature, "signature is invalid"),
    "padded signature": (_padded_signature, "token is malformed"),
    "unknown kid": (lambda lab: sign(lab, valid_claims(lab, **ADMIN), kid="attacker-key"), "unknown key id"),
    "kid path traversal": (lambda lab: sign(lab, valid_claims(lab, **ADMIN), kid="../../../../dev/null"),
                           "unknown key id"),
    "kid not a string": (lambda lab: hs256({"alg": "HS256", "typ": "at+jwt", "kid": 7}, valid_claims(lab, **ADMIN),
                                           lab.keys.active.signing_key), "token is malformed"),
    "typ JWT (an ID token)": (lambda lab: sign(lab, valid_claims(lab, **ADMIN), typ="JWT"),
                              "token type must be at+jwt"),
    "expired": (lambda lab: forge(lab, exp=int(T0) - 1, **ADMIN), "token has expired"),
    "not valid yet": (lambda lab: forge(lab, nbf=int(T0) + 3600, **ADMIN), "token is not valid yet"),
    "issued in the future": (lambda lab: forge(lab, iat=int(T0) + 3600, **ADMIN), "token was issued in the future"),
    "wrong audience": (lambda lab: forge(lab, aud="billing-api", **ADMIN), "token is meant for another audience"),
    "audience array without ours": (lambda lab: forge(lab, aud=["billing-api"], **ADMIN),
                                    "token is meant for another audience"),
    "wrong issuer": (lambda lab: forge(lab, iss="https://evil.example", **ADMIN), "token is from another issuer"),
    "no exp": (lambda lab: forge(lab, exp=None, **ADMIN), "token has no exp claim"),
    "exp as a string": (lambda lab: forge(lab, exp="2100-01-01", **ADMIN), "claim exp must be a number"),
    "huge token": (lambda lab: forge(lab, pad="x" * 9000, **ADMIN), "token is too long"),
    "roles not a list": (lambda lab: forge(lab, roles="admin"), "claim roles must be a list"),
}


@pytest.mark.parametrize("name", FORGERIES)
def test_a_forged_token_opens_nothing(client, lab, name):
    make, description = FORGERIES[name]
    assert_invalid_token(client.get("/api/admin", headers=bearer(make(lab))), description)
    assert [e["event"] for e in client.get("/lab/audit").json()] == ["verification_failed"]


def test_hs256_signed_with_the_rs256_public_key_is_refused():
    client = make_client(algorithm="RS256")
    lab = client.app.state.lab
    pem = lab.keys.active.verifying_key.public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    confused = hs256({"alg": "HS256", "typ": "at+jwt", "kid": lab.keys.active.kid}, valid_claims(lab, **ADMIN), pem)
    assert_invalid_token(client.get("/api/admin", headers=bearer(confused)), "algorithm must be RS256")


@pytest.mark.parametrize("forgery", [_embedded_jwk, _jku])
def test_an_rs256_server_ignores_keys_the_token_brings(forgery):
    client = make_client(algorithm="RS256")
    assert_invalid_token(client.get("/api/admin", headers=bearer(forgery(client.app.state.lab))),
                         "signature is invalid")


def test_a_token_of_another_server_is_refused(client):
    other = Auth(make_client(issuer="http://127.0.0.1:8000")).token("admin")["access_token"]
    assert_invalid_token(client.get("/api/admin", headers=bearer(other)), "unknown key id")


def test_a_user_cannot_raise_their_role_in_their_own_token(client, auth):
    head, body, signature = auth.token("alice")["access_token"].split(".")
    claims = jwt.decode(auth.token("alice")["access_token"], options={"verify_signature": False})
    raised = f"{head}.{b64url_json({**claims, 'roles': ['admin']})}.{signature}"
    assert_invalid_token(client.get("/api/admin", headers=bearer(raised)), "signature is invalid")


# --- refresh tokens and sessions ---------------------------------------------------------------------

def test_a_stolen_refresh_token_used_twice_ends_the_login(client, auth):
    tokens = auth.token("alice")
    assert auth.refresh(tokens["refresh_token"]).status_code == 200
    replay = auth.refresh(tokens["refresh_token"])
    assert replay.json() == error("invalid_grant",
                                  "refresh token was already used: this login is revoked, log in again")


def test_a_revoked_refresh_token_is_dead(client, auth):
    tokens = auth.token("alice")
    assert client.post("/oauth/revoke", data={"token": tokens["refresh_token"]}).status_code == 200
    assert auth.refresh(tokens["refresh_token"]).json() == error("invalid_grant", "refresh token has been revoked")


def test_a_session_id_the_server_never_issued_is_refused(client):
    r = client.get("/session/me", headers={"Cookie": "session=attacker-chosen-id"})
    assert (r.status_code, r.json()["error"]) == (401, "login_required")


def test_the_session_cookie_is_out_of_page_scripts_and_other_sites_reach(client):
    r = client.post("/session/login", data={"username": "alice", "password": "alice-password"})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


# --- Part 2: the attacks that once worked -------------------------------------------------------------
# Demo accounts (test_accounts.py)

def test_demo_admin_is_not_created_on_a_network_address():
    client = make_client(host="0.0.0.0", lab_controls=False)
    r = client.post("/oauth/token", data={"grant_type": "password", "username": "admin", "password": "admin-password"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


def test_demo_accounts_never_join_a_class_database(tmp_path):
    db = str(tmp_path / "class.sqlite3")
    make_client(db=db, users=(("teacher", "t-s3cret", "admin"),)).app.state.lab.store.close()
    again = make_client(db=db)
    assert [u.username for u in again.app.state.lab.users.all()] == ["teacher"]


# The lab controls from a web page (test_lab_from_web_pages.py)

@pytest.mark.parametrize("path", ["/lab/store/users", "/lab/settings"])
def test_dns_rebinding_reads_nothing(client, path):
    r = client.get(path, headers={"Host": "rebind.attacker.example"})
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")


def test_a_cross_site_form_cannot_reset_the_lab(client, auth):
    admin = bearer(auth.token("admin")["access_token"])
    client.patch("/admin/users/bob", json={"disabled": True}, headers=admin)
    r = client.post("/lab/reset", headers={"Origin": "null"})
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    assert client.app.state.lab.users.by_name("bob").disabled


def test_store_views_show_no_password_hashes(client):
    assert "$argon2" not in client.get("/lab/store/users").text


# Brute force (test_login_throttling.py)

@pytest.mark.parametrize("path", ["/oauth/token", "/session/login"])
def test_forty_guesses_then_the_right_password_is_throttled(client, path):
    form = {"grant_type": "password"} if path == "/oauth/token" else {}
    for i in range(40):
        client.post(path, data={**form, "username": "alice", "password": f"guess-{i}"})
    r = client.post(path, data={**form, "username": "alice", "password": "alice-password"})
    # Ten wrong in a row, then each try waits (from 1 s, doubling): the guesses past ten were never checked.
    assert (r.status_code, r.json()["error"], r.headers["retry-after"]) == (429, "too_many_requests", "1")


# Disabled users and the last admin (test_disable_user.py)

def test_a_disabled_users_logins_end_at_once():
    client = make_client(denylist=True)
    auth = Auth(client)
    bob = auth.token("bob")
    client.patch("/admin/users/bob", json={"disabled": True}, headers=bearer(auth.token("admin")["access_token"]))
    assert_invalid_token(auth.get("/api/me", bob["access_token"]), "token has been revoked")
    assert auth.refresh(bob["refresh_token"]).json() == error("invalid_grant", "user is disabled")


def test_the_last_admin_cannot_lock_everyone_out(client, auth):
    r = client.patch("/admin/users/admin", json={"disabled": True},
                     headers=bearer(auth.token("admin")["access_token"]))
    assert (r.status_code, r.json()["error"]) == (409, "conflict")


# Login CSRF and caching (test_sessions.py)

def test_login_csrf_is_refused_and_logins_are_not_cached(client):
    r = client.post("/session/login", data={"username": "bob", "password": "bob-password"},
                    headers={"Sec-Fetch-Site": "cross-site"})
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    r = client.post("/session/login", data={"username": "bob", "password": "bob-password"})
    assert r.headers["cache-control"] == "no-store"


# Replicas (test_replica_keys.py)

def test_a_replica_signs_with_the_key_the_other_rotated_to(tmp_path):
    keys = str(tmp_path / "keys.json")
    a, b = (make_client(db=str(tmp_path / f"{n}.sqlite3"), keys=keys) for n in "ab")
    new_kid = a.post("/lab/keys/rotate").json()["kid"]
    assert jwt.get_unverified_header(Auth(b).token()["access_token"])["kid"] == new_kid


# Unbounded input (test_bounds.py)

def test_a_huge_username_is_refused_and_log_lines_cannot_be_forged(client):
    r = client.post("/oauth/token", data={"grant_type": "password", "username": "u" * 1_000_000, "password": "x"})
    assert r.status_code == 413
    client.post("/session/login", data={"username": "x\nforged line", "password": "x"})
    assert client.get("/lab/audit").json()[-1]["username"] == "x\\nforged line"


def test_made_up_methods_do_not_grow_the_counters(client):
    for i in range(20):
        client.request(f"M{i}", "/api/hello")
    assert not any(kind.startswith("M") for kind in client.get("/lab/stats").json())


def test_yes_is_not_true(client, auth):
    r = client.patch("/admin/users/bob", json={"disabled": "yes"}, headers=bearer(auth.token("admin")["access_token"]))
    assert r.status_code == 400


# Files and secrets (test_file_modes.py, test_accounts.py)

def test_the_store_is_not_readable_by_other_users(tmp_path):
    old = os.umask(0o022)
    try:
        make_client(db=str(tmp_path / "class.sqlite3"))
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert {"class.sqlite3", "class.keys.json"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_passwords_stay_out_of_the_process_list():
    with labserver.start(users=[("carol", "carols-s3cret", "admin")], frozen_at=T0) as server:
        assert b"carols-s3cret" not in Path(f"/proc/{server.process.pid}/cmdline").read_bytes()


# Standards details (test_standards_details.py)

def test_revoking_a_malformed_jwt_is_200(client):
    assert client.post("/oauth/revoke", data={"token": "a.b.c"}).status_code == 200


def test_basic_and_form_naming_different_clients_are_refused(client):
    basic = {"Authorization": "Basic " + base64.b64encode(b"other:").decode()}
    r = client.post("/oauth/token", headers=basic, data={"grant_type": "password", "username": "alice",
                                                          "password": "alice-password", "client_id": "jwt-course"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


def test_a_scope_is_never_silently_dropped(client):
    r = client.post("/oauth/token", data={"grant_type": "password", "username": "alice",
                                          "password": "alice-password", "scope": "admin"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")

