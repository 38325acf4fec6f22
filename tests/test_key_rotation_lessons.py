"""Key rotation on real lab servers: planned rotation keeps every live token valid until its exp; emergency
rotation (after a leak) refuses them all at once, while refresh tokens still let every client recover."""

from __future__ import annotations

import json

import jwt
import pytest

import labserver
from coursekit.labtools.client import bearer, claims
from labserver.control.clock import parse_instant

T0 = parse_instant("2030-01-07T09:00:00Z")
USERS = ("alice", "bob", "admin")


def log_in(lab, username: str) -> dict:
    r = lab.http.post(lab.url + "/oauth/token", timeout=10, data={
        "grant_type": "password", "username": username, "password": f"{username}-password"})
    assert r.status_code == 200, r.text
    return r.json()


def refresh(lab, refresh_token: str):
    return lab.http.post(lab.url + "/oauth/token", timeout=10,
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def me(lab, token: str):
    return lab.http.get(lab.url + "/api/me", headers=bearer(token), timeout=10)


def refused(r, why: str) -> None:
    assert r.status_code == 401, r.text
    assert r.json() == {"error": "invalid_token", "error_description": why}


def published(lab) -> list[str]:
    return [k["kid"] for k in lab.http.get(lab.url + "/.well-known/jwks.json", timeout=10).json()["keys"]]


def kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


@pytest.fixture(scope="module")
def es256():
    with labserver.start(algorithm="ES256", frozen_at=T0) as lab:
        yield lab


@pytest.fixture(scope="module")
def hs256():
    with labserver.start(frozen_at=T0) as lab:
        yield lab


@pytest.fixture
def fresh(es256):
    es256.reset()
    es256.clock.set(T0)
    es256.rotate_keys_now()  # every test starts from one key, whatever the last one did
    return es256


def test_planned_rotation_keeps_every_live_token_valid_until_its_exp_then_retires_the_old_key(fresh):
    lab = fresh
    old_kid = published(lab)[0]
    # Tokens signed with the old key at 09:00, 09:15 and at the very second of the rotation, 09:30.
    live = []
    for offset, user in zip((0, 900, 1800), USERS):
        lab.clock.set(T0 + offset)
        live.append(log_in(lab, user)["access_token"])
    rotated = lab.rotate_keys()
    assert rotated["previous_kid"] == old_kid
    assert published(lab) == [old_kid, rotated["kid"]]  # two kids published
    assert kid(log_in(lab, "alice")["access_token"]) == rotated["kid"]

    retired_at = T0 + 1800
    for token in live:
        assert kid(token) == old_kid
        lab.clock.set(claims(token)["exp"] - 1)  # the last second of its life: still good
        assert me(lab, token).status_code == 200, me(lab, token).text
        lab.clock.set(claims(token)["exp"])
        # The token signed at the rotation expires just as its key leaves: that key is the first thing missing.
        refused(me(lab, token), "unknown key id" if claims(token)["exp"] == retired_at + 1800 else "token has expired")
    # The last old token expired at 10:00: the old key is unpublished at that very second, not before.
    lab.clock.set(T0 + 3600 - 1)
    assert published(lab) == [old_kid, rotated["kid"]]
    lab.clock.set(T0 + 3600)
    assert published(lab) == [rotated["kid"]]
    refused(me(lab, live[-1]), "unknown key id")
    assert [e["event"] for e in lab.audit()].count("keys_rotated") == 1


def test_emergency_rotation_refuses_every_access_token_at_once_and_refresh_recovers_each_client(fresh):
    lab = fresh
    sessions = {user: log_in(lab, user) for user in USERS}
    lab.clock.advance(60)
    planned = lab.rotate_keys()  # a planned rotation earlier: two keys published now
    sessions["alice-later"] = log_in(lab, "alice")
    assert len(published(lab)) == 2
    for tokens in sessions.values():
        assert me(lab, tokens["access_token"]).status_code == 200

    lab.clock.advance(60)
    answer = lab.rotate_keys_now()
    assert sorted(answer["dropped_kids"]) == sorted([planned["previous_kid"], planned["kid"]])
    assert published(lab) == [answer["kid"]]
    for tokens in sessions.values():  # each dies at once, long before its exp
        assert lab.clock.now() < claims(tokens["access_token"])["exp"]
        refused(me(lab, tokens["access_token"]), "unknown key id")

    for name, tokens in sessions.items():  # no password: the refresh token, which no signing key made
        r = refresh(lab, tokens["refresh_token"])
        assert r.status_code == 200, r.text
        fresh_token = r.json()["access_token"]
        assert kid(fresh_token) == answer["kid"]
        assert me(lab, fresh_token).json()["username"] == name.split("-")[0]

    events = [e["event"] for e in lab.audit()]
    assert events.count("login") == 4 and events.count("refresh") == 4
    record = [e for e in lab.audit() if e["event"] == "keys_rotated_now"][-1]
    assert record["new_kid"] == answer["kid"] and record["dropped_kids"] == answer["dropped_kids"]


def test_a_token_minted_with_the_leaked_key_works_until_the_emergency_rotation(hs256):
    lab = hs256
    lab.reset()
    lab.clock.set(T0)
    genuine = log_in(lab, "alice")["access_token"]
    with open(lab.keys_path) as f:  # the leak: a copy of the server's key file
        leaked = next(k for k in json.load(f)["keys"] if k["kid"] == kid(genuine))
    secret = jwt.PyJWK({k: v for k, v in leaked.items() if not k.startswith("lab_")}, algorithm="HS256").key
    minted = jwt.encode({**claims(genuine), "username": "mallory", "roles": ["admin"], "jti": "minted"},
                        secret, algorithm="HS256", headers={"typ": "at+jwt", "kid": leaked["kid"]})
    r = lab.http.get(lab.url + "/api/admin", headers=bearer(minted), timeout=10)
    assert r.status_code == 200, r.text
    assert "minted" not in json.dumps(lab.audit()) and "mallory" not in json.dumps(lab.audit())

    assert lab.rotate_keys_now()["dropped_kids"] == [leaked["kid"]]
    refused(lab.http.get(lab.url + "/api/admin", headers=bearer(minted), timeout=10), "unknown key id")
    refused(me(lab, genuine), "unknown key id")
    assert published(lab) == []  # an HMAC secret is never published, before or after


def test_emergency_rotation_reaches_a_replica_sharing_the_key_file_at_once():
    with labserver.start(algorithm="ES256", frozen_at=T0) as a, \
            labserver.start(share_keys_with=a, algorithm="ES256", frozen_at=T0) as b:
        token = log_in(a, "alice")["access_token"]
        assert me(b, token).status_code == 200  # b verifies a's tokens: same keys
        a.rotate_keys_now()
        refused(me(b, token), "unknown key id")
        fresh_token = log_in(a, "alice")["access_token"]
        assert me(b, fresh_token).status_code == 200


def test_emergency_rotation_also_drops_the_cracked_weak_secret():
    with labserver.start(frozen_at=T0, flaws=("weak-secret",)) as lab:
        weak = log_in(lab, "alice")["access_token"]
        assert me(lab, weak).status_code == 200
        lab.rotate_keys_now()
        refused(me(lab, weak), "unknown key id")


def test_an_emergency_rotation_that_keeps_the_old_key_fails_lesson_07(tmp_path):
    """The harness has teeth here too: a rotate-now that kept the leaked key would let lesson 07's outputs change."""
    from test_harness_teeth import ROOT, planted_server, run_nbval

    planted = planted_server(tmp_path, "tokens/keys.py", "self._keys = [generate(self.alg, self._random, now)]",
                             "self._keys = [*self._usable(now), generate(self.alg, self._random, now)]")
    outcomes, report = run_nbval(tmp_path, ROOT / "notebooks" / "07-signing-keys.ipynb",
                                 env={"PYTHONPATH": str(planted)})

    failed = [test for test, status in outcomes.items() if status == "FAILED"]
    # Exactly the two cells after the rotation: the leaked key still opens the API, and the refresh audit differs.
    assert len(failed) == 2, report
    assert "200 {'message': 'welcome to the admin area', 'username': 'bob'}" in report, report
