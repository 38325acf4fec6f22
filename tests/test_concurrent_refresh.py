"""Refresh tokens under real concurrency: many clients at once against a real server process.

Each thread has its own connection (its own requests.Session), and a barrier releases them together.
"""

from __future__ import annotations

import threading
from collections import Counter

import jwt
import pytest
import requests

import labserver
from labserver.accounts.sessions import digest

THREADS = 16
USERS = [(f"user{i}", f"user{i}-password", "user") for i in range(THREADS // 2)]
T0 = "2030-01-01T09:00:00Z"

ALREADY_USED = {"error": "invalid_grant",
                "error_description": "refresh token was already used: this login is revoked, log in again"}
REVOKED = {"error": "invalid_grant", "error_description": "refresh token has been revoked"}


@pytest.fixture(scope="module")
def server():
    with labserver.start(users=USERS) as lab:
        yield lab
        assert_clean_log(lab)


def assert_clean_log(lab) -> None:
    log = lab.log_path.read_text()
    assert "database is locked" not in log, log
    assert "Traceback" not in log, log


def all_at_once(*calls):
    """Run each call in its own thread with its own Session, released together; return their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(i: int, call) -> None:
        with requests.Session() as http:
            http.trust_env = False  # loopback: no proxy, no CA bundle from the environment
            barrier.wait(timeout=10)
            try:
                answers[i] = call(http)
            except Exception as exc:  # noqa: BLE001 - reported by the assertions below
                answers[i] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert not [a for a in answers if isinstance(a, Exception)], answers
    return answers


def token_call(url: str, **form):
    def call(http: requests.Session) -> requests.Response:
        return http.post(url + "/oauth/token", data=form, timeout=20)
    return call


def login(lab, username: str) -> dict:
    r = lab.http.post(lab.url + "/oauth/token", timeout=10, data={
        "grant_type": "password", "username": username, "password": f"{username}-password"})
    assert r.status_code == 200, r.text
    return r.json()


def family_of(lab, refresh_token: str) -> tuple[dict, list[dict]]:
    """The family row of a refresh token and every token row of that family."""
    family_id = next(t["family_id"] for t in lab.table("refresh_tokens") if t["token_hash"] == digest(refresh_token))
    family = next(f for f in lab.table("refresh_families") if f["id"] == family_id)
    return family, [t for t in lab.table("refresh_tokens") if t["family_id"] == family_id]


def assert_token_response(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 1800)
    assert response.headers["Cache-Control"] == "no-store"
    return body


def counts(events: list[dict]) -> Counter:
    return Counter(e["event"] for e in events)


def test_sixteen_simultaneous_refreshes_of_one_token_give_one_success_and_revoke_the_family(server):
    original = login(server, "user0")["refresh_token"]
    seen = server.audit()[-1]["id"]

    answers = all_at_once(*[token_call(server.url, grant_type="refresh_token", refresh_token=original)] * THREADS)

    assert Counter(r.status_code for r in answers) == {200: 1, 400: THREADS - 1}
    winner = assert_token_response(next(r for r in answers if r.status_code == 200))
    losers = [r for r in answers if r.status_code != 200]
    # The first loser shows the token was used twice and revokes the login; the others find it revoked.
    assert [r.json() for r in losers].count(ALREADY_USED) == 1
    assert [r.json() for r in losers].count(REVOKED) == THREADS - 2
    assert all(r.headers["Cache-Control"] == "no-store" for r in losers)

    family, tokens = family_of(server, original)
    assert family["revoked_reason"] == "refresh token reused"
    assert family["revoked_at"] is not None
    by_hash = {t["token_hash"]: t for t in tokens}
    assert set(by_hash) == {digest(original), digest(winner["refresh_token"])}
    assert by_hash[digest(original)]["used_at"] is not None
    assert by_hash[digest(winner["refresh_token"])]["used_at"] is None
    assert counts(server.audit(seen)) == {"refresh": 1, "reuse_detected": 1, "family_revoked": 1,
                                          "refresh_denied": THREADS - 1}
    # The winner's new token went down with its family.
    again = server.http.post(server.url + "/oauth/token", timeout=10,
                             data={"grant_type": "refresh_token", "refresh_token": winner["refresh_token"]})
    assert (again.status_code, again.json()) == (400, REVOKED)
    assert_clean_log(server)


def test_with_a_reuse_interval_every_simultaneous_refresh_succeeds_and_the_family_lives_on():
    with labserver.start(refresh_reuse_interval=5, frozen_at=T0) as lab:
        original = login(lab, "alice")["refresh_token"]

        answers = all_at_once(*[token_call(lab.url, grant_type="refresh_token", refresh_token=original)] * THREADS)

        issued = [assert_token_response(r)["refresh_token"] for r in answers]
        assert len(set(issued)) == THREADS
        family, tokens = family_of(lab, original)
        assert (family["revoked_at"], family["revoked_reason"]) == (None, None)
        assert {t["token_hash"] for t in tokens} == {digest(original), *map(digest, issued)}
        assert [t["token_hash"] for t in tokens if t["used_at"] is not None] == [digest(original)]
        assert counts(lab.audit()) == {"login": 1, "refresh": THREADS, "reuse_within_interval": THREADS - 1}

        # Past the interval the same token is a replay again, and revokes the family.
        lab.clock.advance(5)
        late = lab.http.post(lab.url + "/oauth/token", timeout=10,
                             data={"grant_type": "refresh_token", "refresh_token": original})
        assert (late.status_code, late.json()) == (400, ALREADY_USED)
        assert family_of(lab, original)[0]["revoked_reason"] == "refresh token reused"
        assert_clean_log(lab)


def test_simultaneous_logins_and_refreshes_of_different_families_all_succeed_and_every_row_is_kept(server):
    earlier = {name: login(server, name) for name, _pw, _role in USERS}
    families_before = len(server.table("refresh_families"))
    tokens_before = len(server.table("refresh_tokens"))

    answers = all_at_once(
        *[token_call(server.url, grant_type="password", username=name, password=pw) for name, pw, _ in USERS],
        *[token_call(server.url, grant_type="refresh_token", refresh_token=earlier[name]["refresh_token"])
          for name, _pw, _role in USERS])

    bodies = [assert_token_response(r) for r in answers]
    # Each answer is for the user who asked: no crossed wires between threads.
    expected = [name for name, _pw, _role in USERS] * 2
    assert [jwt.decode(b["access_token"], options={"verify_signature": False})["username"] for b in bodies] == expected
    for body, name in zip(bodies, expected):
        me = server.http.get(server.url + "/api/me", headers={"Authorization": f"Bearer {body['access_token']}"},
                             timeout=10)
        assert (me.status_code, me.json()["username"]) == (200, name)

    families, tokens = server.table("refresh_families"), server.table("refresh_tokens")
    assert len(families) == families_before + len(USERS)      # one new family per new login
    assert len(tokens) == tokens_before + 2 * len(USERS)      # its first token, plus one per refresh
    assert len({t["token_hash"] for t in tokens}) == len(tokens)
    for name, _pw, _role in USERS:
        family, chain = family_of(server, earlier[name]["refresh_token"])
        assert family["revoked_at"] is None
        assert len(chain) == 2 and sum(t["used_at"] is not None for t in chain) == 1
    for body in bodies[:len(USERS)]:
        family, chain = family_of(server, body["refresh_token"])
        assert family["revoked_at"] is None and len(chain) == 1
    assert_clean_log(server)
