"""Notebook 07's exercises: each reference solution passes on a fresh lab, and the answers a learner would plausibly
get wrong are answered with what the lab did."""

from __future__ import annotations

import secrets
import threading
import time

import jwt
import pytest
import requests

from coursekit.exercises import ex07
from coursekit.labtools.client import bearer, log_in
from coursekit.kit.exercise import Status, ____
from exercise_helpers import incorrect, reference

NAMES = dict(secrets=secrets, jwt=jwt, bearer=bearer)


def solution(exercise):
    return reference(exercise, **NAMES)


def test_q1_the_reference_mint_opens_the_admin_route_for_anyone_and_leaves_no_trace():
    outcome = ex07.q1.evaluate(solution(ex07.q1))
    assert outcome.status is Status.CORRECT, outcome.text
    assert "200 to bob as an admin and to 'nobody'" in outcome.message
    assert "(1 so far: alice's), and neither of yours is among them" in outcome.message


def mint_with(*, now=None, key=None, headers=None, username=None, jti=None):
    """A mint() with one plausible mistake."""
    def mint(lab, leaked, name, roles):
        at = int(lab.clock.now() if now is None else now())
        claims = {"iss": lab.settings.issuer_id, "sub": "0", "aud": lab.settings.audience, "iat": at,
                  "exp": at + 1800, "jti": jti or secrets.token_urlsafe(16), "client_id": "jwt-course",
                  "username": username or name, "roles": roles}
        return jwt.encode(claims, key(leaked) if key else jwt.PyJWK(leaked).key, algorithm="HS256",
                          headers=headers if headers is not None else {"typ": "at+jwt", "kid": leaked["kid"]})
    return mint


def test_q1_times_from_the_computer_clock_are_long_expired_in_the_lab():
    incorrect(ex07.q1.evaluate(mint_with(now=time.time)), "answered 401 (token has expired)",
              "take iat and exp from lab.clock.now(), not time.time()")


def test_q1_the_k_member_used_as_the_secret_fails_the_signature():
    incorrect(ex07.q1.evaluate(mint_with(key=lambda jwk: jwk["k"].encode())), "401 (signature is invalid)",
              "jwt.PyJWK(leaked).key")


def test_q1_a_header_without_the_leaked_kid_is_refused():
    incorrect(ex07.q1.evaluate(mint_with(headers={"typ": "at+jwt"})), "401 (unknown key id)",
              "headers={'kid': leaked['kid'], ...}")


def test_q1_a_fixed_username_is_not_any_user():
    incorrect(ex07.q1.evaluate(mint_with(username="bob")), "asked for a token for 'nobody'",
              "username 'bob': use the username argument")


def test_q1_one_jti_for_every_token():
    incorrect(ex07.q1.evaluate(mint_with(jti="always-the-same")), "both tokens carry the same jti")


def test_q1_a_token_rather_than_a_function():
    incorrect(ex07.q1.evaluate("eyJ.eyJ.sig"), "pass your function itself")


@pytest.mark.parametrize("answer", ["10:01:00", "10:01", " 10:01:00 "])
def test_q2_the_old_key_goes_one_lifetime_plus_leeway_after_the_rotation(answer):
    outcome = ex07.q2.evaluate(answer)
    assert outcome.status is Status.CORRECT, outcome.text
    assert outcome.message.startswith("at 10:00:59 the old key still verified alice's last token; at 10:01:00")


def test_q2_forgetting_the_leeway_would_refuse_a_token_still_accepted():
    incorrect(ex07.q2.evaluate("10:00:00"), "at 10:00:00 alice's token from 09:30 still works",
              "60 s of leeway past exp")


def test_q2_keeping_the_old_key_longer_than_needed():
    incorrect(ex07.q2.evaluate("10:30:00"), "at 10:29:59 the lab had already unpublished the old key")


def test_q2_dropping_it_at_the_rotation_is_an_emergency():
    incorrect(ex07.q2.evaluate("09:30:00"), "not after the rotation at 09:30:00", "dies at once")


@pytest.mark.parametrize("answer", [10.01, "1001", "10:00:60", "09:61:00", "24:01:00", "ab:cd:ef", "10:01:0x",
                                    "1 :01:00", "10:01:00:00", "１０:０１:００"])
def test_q2_answers_not_in_lab_time_form(answer):
    """Malformed or out-of-range times are told the format, never judged on the lab nor crash the check."""
    incorrect(ex07.q2.evaluate(answer), "give the lab time as text, 'HH:MM:SS' (or 'HH:MM')",
              "hours 00 to 23, minutes and seconds 00 to 59", f"not {answer!r}")


def test_q3_the_reference_client_recovers_with_one_refresh_and_no_password():
    outcome = ex07.q3.evaluate(reference(ex07.q3, requests=requests, bearer=bearer))
    assert outcome.status is Status.CORRECT, outcome.text
    assert "one refresh and no password" in outcome.message


def me(lab, tokens):
    return requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]))


def refreshed(lab, tokens):
    return requests.post(lab.url + "/oauth/token", data={"grant_type": "refresh_token",
                                                         "refresh_token": tokens["refresh_token"]}).json()


def test_q3_logging_in_again_asks_for_the_password():
    def call_api(lab, tokens):
        r = me(lab, tokens)
        if r.status_code == 401:
            tokens = log_in(lab, "alice")
            r = me(lab, tokens)
        return r, tokens

    incorrect(ex07.q3.evaluate(call_api), "after the emergency rotation, your client logged in with alice's password")


def test_q3_retrying_the_dead_token():
    def call_api(lab, tokens):
        r = me(lab, tokens)
        if r.status_code == 401:
            r = me(lab, tokens)
        return r, tokens

    incorrect(ex07.q3.evaluate(call_api), "after the emergency rotation, /api/me answered 401",
              "'unknown key id'", "on a 401, refresh and retry")


def test_q3_keeping_the_old_tokens_reuses_a_spent_refresh_token():
    def call_api(lab, tokens):
        r = me(lab, tokens)
        if r.status_code == 401:
            r = me(lab, refreshed(lab, tokens))
        return r, tokens  # the new token response is thrown away

    incorrect(ex07.q3.evaluate(call_api), "on the next call, your client sent a refresh token it had already used",
              "reuse detection")


def test_q3_refreshing_on_every_call():
    def call_api(lab, tokens):
        tokens = refreshed(lab, tokens)
        return me(lab, tokens), tokens

    incorrect(ex07.q3.evaluate(call_api), "before any rotation, alice's access token worked, yet your client refreshed")


def test_q3_returning_only_the_response():
    incorrect(ex07.q3.evaluate(lambda lab, tokens: me(lab, tokens)), "call_api should return (response, tokens)")


@pytest.mark.parametrize("exercise, blank", [
    (ex07.q1, lambda lab, leaked, username, roles: ____),
    (ex07.q2, ____),
    (ex07.q3, lambda lab, tokens: ____),
])
def test_blanks_are_not_answered_yet(exercise, blank):
    assert exercise.evaluate(blank).status is Status.NOT_ANSWERED


def test_q3_refreshing_forever_when_the_new_token_is_refused_too_is_stopped_at_the_labs_budget():
    """Refresh and retry until /api/me says 200, retrying with the old token: the new one is never used."""
    def call_api(lab, tokens):
        r, new = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10), tokens
        while r.status_code == 401:
            new = requests.post(lab.url + "/oauth/token", timeout=10, data={
                "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
            r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
        return r, new

    started = time.monotonic()
    outcome = ex07.q3.evaluate(call_api)
    assert outcome.text == (
        "✘ Incorrect: after the emergency rotation, call_api kept asking the token endpoint, more than 10 times: a "
        "loop. When the new access token is refused too, refreshing again will not help: refresh once, retry once, "
        "and return what you got. It was stopped")
    assert time.monotonic() - started < ex07.CALL_LIMIT
    assert ex07.q3.evaluate(solution(ex07.q3)).status is Status.CORRECT  # the next check works


def test_q3_a_loop_that_never_asks_the_server_is_stopped_at_the_time_limit(monkeypatch):
    monkeypatch.setattr(ex07, "CALL_LIMIT", 1)

    def call_api(lab, tokens):
        while True:
            pass

    outcome = ex07.q3.evaluate(call_api)
    assert outcome.text == ("✘ Incorrect: before any rotation, call_api did not return within 1 s (a loop, or a "
                            "lock that is never released?): it was stopped")
    assert not [t for t in threading.enumerate() if t.name.startswith("answer: before any rotation") and t.is_alive()]


def test_q3_a_loop_ended_by_the_labs_refusal_is_still_reported_as_a_loop():
    def call_api(lab, tokens):
        r = requests.get(lab.url + "/api/me", headers=bearer(tokens["access_token"]), timeout=10)
        while r.status_code != 200:  # each refresh works, but the retry sends a broken header
            tokens = requests.post(lab.url + "/oauth/token", timeout=10, data={
                "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
            r = requests.get(lab.url + "/api/me", headers={"Authorization": tokens["access_token"]}, timeout=10)
        return r, tokens

    incorrect(ex07.q3.evaluate(call_api), "after the emergency rotation, call_api kept asking the token endpoint, "
              "more than 10 times: a loop.")
