"""The lab's newer DELIBERATELY VULNERABLE flaws: an unpublished RSA key rebuilt from two tokens (algorithm
confusion with no exposed key), certificates from the x5c and x5u headers, and a refresh that renews access
for whoever an expired access token names. Each: the forgery works with the flaw on, fails with it off.
"""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import Auth, make_client
from helpers import assert_invalid_token, bearer, claims_of, header_of, hs256
from coursekit.labtools.attacks import (certificate_pem, recover_rsa_modulus, self_signed_certificate, serve_text,
                                        show_flaw, x5c_of)

ATTACKER = rsa.generate_private_key(65537, 2048)


def switch(client, *names: str) -> None:
    r = client.put("/lab/flaws", json=list(names))
    assert r.status_code == 200, r.text


def admin_claims(token: str) -> dict:
    return {**claims_of(token), "roles": ["admin"]}


@pytest.fixture
def rs_client():
    with make_client(algorithm="RS256") as c:
        yield c


def test_the_unpublished_key_is_rebuilt_from_two_tokens_and_opens_the_admin_route(rs_client):
    switch(rs_client, "alg-confusion-hidden-key")
    alice, bob = Auth(rs_client).token("alice")["access_token"], Auth(rs_client).token("bob")["access_token"]
    published = {k["kid"] for k in rs_client.get("/.well-known/jwks.json").json()["keys"]}
    assert header_of(alice)["kid"] not in published  # nothing to read: the key must be recovered
    steps = []
    n = recover_rsa_modulus([alice, bob], e=3, progress=steps.append)
    assert n.bit_length() == 2048 and len(steps) == 4, steps
    pem = rsa.RSAPublicNumbers(3, n).public_key().public_bytes(serialization.Encoding.PEM,
                                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    forged = hs256({**header_of(alice), "alg": "HS256"}, admin_claims(alice), pem)
    assert rs_client.get("/api/admin", headers=bearer(forged)).status_code == 200
    switch(rs_client, "alg-confusion")  # the published key's confusion does not take the unpublished key's PEM
    assert_invalid_token(rs_client.get("/api/admin", headers=bearer(forged)), "unknown key id")
    switch(rs_client)
    assert_invalid_token(rs_client.get("/api/admin", headers=bearer(forged)), "algorithm must be RS256")
    assert_invalid_token(rs_client.get("/api/me", headers=bearer(alice)), "unknown key id")


def test_a_wrong_exponent_says_the_modulus_is_not_the_signatures_size(rs_client):
    switch(rs_client, "alg-confusion-hidden-key")
    tokens = [Auth(rs_client).token(name)["access_token"] for name in ("alice", "bob")]
    steps = []
    n = recover_rsa_modulus(tokens, e=5, progress=steps.append)
    assert n.bit_length() != 2048
    assert steps[-1].endswith("not the signature's size: the tokens share no key, or e is not 5")


def test_the_hidden_key_flaw_needs_rs256():
    with pytest.raises(ValueError, match="needs an RS256 server"):
        make_client(algorithm="ES256", flaws=("alg-confusion-hidden-key",))


def x5c_token(token: str, key=ATTACKER, **header) -> str:
    return jwt.encode(admin_claims(token), key, algorithm="RS256",
                      headers={"typ": "at+jwt", "kid": "mine", **header})


def test_a_self_signed_certificate_in_x5c_is_believed_only_with_the_flaw_on(rs_client):
    token = Auth(rs_client).token()["access_token"]
    forged = x5c_token(token, x5c=x5c_of(self_signed_certificate(ATTACKER)))
    switch(rs_client, "x5c-header")
    assert rs_client.get("/api/admin", headers=bearer(forged)).status_code == 200
    switch(rs_client)
    assert_invalid_token(rs_client.get("/api/admin", headers=bearer(forged)), "unknown key id")


@pytest.mark.parametrize("x5c, reason", [
    ("not a list", "x5c must be a list of base64 certificates"),
    ([], "x5c must be a list of base64 certificates"),
    (["%%%"], "x5c holds no readable certificate"),
    (["aGVsbG8="], "x5c holds no readable certificate"),
])
def test_a_bad_x5c_is_a_clear_401(rs_client, x5c, reason):
    switch(rs_client, "x5c-header")
    token = Auth(rs_client).token()["access_token"]
    assert_invalid_token(rs_client.get("/api/admin", headers=bearer(x5c_token(token, x5c=x5c))), reason)


def test_a_certificate_for_another_kind_of_key_cannot_verify_rs256(rs_client):
    switch(rs_client, "x5c-header")
    token = Auth(rs_client).token()["access_token"]
    ec_cert = self_signed_certificate(ec.generate_private_key(ec.SECP256R1()))
    assert_invalid_token(rs_client.get("/api/admin", headers=bearer(x5c_token(token, x5c=x5c_of(ec_cert)))),
                         "the certificate's key cannot verify RS256 tokens")


def test_a_certificate_at_a_loopback_x5u_url_is_believed_only_with_the_flaw_on(rs_client):
    token = Auth(rs_client).token()["access_token"]
    with serve_text(certificate_pem(self_signed_certificate(ATTACKER)), "/cert.pem") as url:
        forged = x5c_token(token, x5u=url)
        switch(rs_client, "x5u-header")
        assert rs_client.get("/api/admin", headers=bearer(forged)).status_code == 200
        assert_invalid_token(rs_client.get("/api/admin", headers=bearer(x5c_token(token, x5u=url + "x"))),
                             "nothing usable at the x5u URL")
        switch(rs_client)
        assert_invalid_token(rs_client.get("/api/admin", headers=bearer(forged)), "unknown key id")


@pytest.mark.parametrize("url", ["http://example.com/cert.pem", "https://127.0.0.1/cert.pem", "file:///etc/passwd", 7])
def test_x5u_is_never_followed_off_this_machine(rs_client, url):
    switch(rs_client, "x5u-header")
    token = Auth(rs_client).token()["access_token"]
    assert_invalid_token(rs_client.get("/api/admin", headers=bearer(x5c_token(token, x5u=url))),
                         "x5u must be an http URL on a loopback address")


def refresh(client, refresh_token: str, access_token: str | None = None):
    return client.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                       headers=bearer(access_token) if access_token else {})


def test_a_refresh_trusting_an_expired_access_token_renews_someone_elses_access(rs_client):
    lab = rs_client.app.state.lab
    alice, bob = Auth(rs_client).token("alice"), Auth(rs_client).token("bob")
    lab.clock.advance(31 * 60)  # alice's access token has expired; bob's refresh token lives on
    switch(rs_client, "refresh-subject")
    r = refresh(rs_client, bob["refresh_token"], alice["access_token"])
    assert r.status_code == 200, r.text
    assert claims_of(r.json()["access_token"])["username"] == "alice"
    switch(rs_client)
    r = refresh(rs_client, r.json()["refresh_token"], alice["access_token"])
    assert r.status_code == 200, r.text
    assert claims_of(r.json()["access_token"])["username"] == "bob"


def test_with_the_flaw_on_a_forged_or_absent_access_token_changes_nothing(rs_client):
    bob = Auth(rs_client).token("bob")
    switch(rs_client, "refresh-subject")
    r = refresh(rs_client, bob["refresh_token"], "not.a.token")
    assert claims_of(r.json()["access_token"])["username"] == "bob"
    r = refresh(rs_client, r.json()["refresh_token"])
    assert claims_of(r.json()["access_token"])["username"] == "bob"


@pytest.mark.parametrize("flaw, where", [
    ("alg-confusion-hidden-key", "labserver/tokens/access.py, in verify():"),
    ("x5c-header", "labserver/tokens/certificates.py, in from_x5c():"),
    ("x5u-header", "labserver/tokens/certificates.py, in from_x5u():"),
    ("refresh-subject", "labserver/web/routes/oauth.py, in token():"),
])
def test_each_new_flaw_is_marked_beside_its_fix(capsys, flaw, where):
    show_flaw(flaw)
    out = capsys.readouterr().out
    assert out.startswith(where) and "The fix" in out, out
