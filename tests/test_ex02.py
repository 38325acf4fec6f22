"""Notebook 02's exercises: every reference solution passes, and typical mistakes get a message that says why."""

import json

import pytest
import requests

from coursekit import ex02
from coursekit.client import bearer
from coursekit.exercise import Status, ____
from coursekit.lab import start_lab, stop_lab
from coursekit.tokenview import decode_segment
from exercise_helpers import incorrect, solution_names


def password_grant(url, username, password):
    return requests.post(url + "/oauth/token",
                         data={"grant_type": "password", "username": username, "password": password})


@pytest.mark.parametrize("exercise, name", [(ex02.q1, "login"), (ex02.q2, "seconds_left")], ids=["q1", "q2"])
def test_reference_functions_are_correct(exercise, name):
    outcome = exercise.evaluate(solution_names(exercise)[name])
    assert outcome.status is Status.CORRECT, outcome.text


def test_functions_that_still_use_the_blank_are_not_answered_yet():
    def login(url, username, password):
        r = ____
        return r

    assert ex02.q1.evaluate(login).status is Status.NOT_ANSWERED
    assert ex02.q2.evaluate(lambda response, received_at, now: ____).status is Status.NOT_ANSWERED


@pytest.fixture(scope="module")
def replicas():
    """Notebook 02 at section 5: alice's first token expired on A, a second login, B's clock set to A's."""
    lab = start_lab("test-ex02-a")
    old = password_grant(lab.url, "alice", "alice-password").json()["access_token"]
    lab.clock.advance(minutes=30)
    token = password_grant(lab.url, "alice", "alice-password").json()["access_token"]
    b = start_lab("test-ex02-b", share_keys_with=lab)
    b.clock.set(lab.clock.now())
    yield lab, b, token, old
    stop_lab("test-ex02-b")
    stop_lab("test-ex02-a")


# --- q1: a login function ---------------------------------------------------------------------------------

def test_q1_returning_the_whole_token_response():
    incorrect(ex02.q1.evaluate(lambda url, u, p: password_grant(url, u, p).json()), "whole token response")


def test_q1_a_json_body_instead_of_a_form():
    def login(url, username, password):
        r = requests.post(url + "/oauth/token",
                          json={"grant_type": "password", "username": username, "password": password})
        return r.json()["access_token"]

    incorrect(ex02.q1.evaluate(login), "KeyError", "400 invalid_request", "Send a form, data=")


def test_q1_hard_coding_alice():
    def login(url, username, password):
        return password_grant(url, "alice", "alice-password").json()["access_token"]

    incorrect(ex02.q1.evaluate(login), "asked for bob's token, login() returns alice's")


def test_q1_returning_the_refresh_token():
    incorrect(ex02.q1.evaluate(lambda url, u, p: password_grant(url, u, p).json()["refresh_token"]),
              "not a JWT", "refresh_token")


def test_q1_a_token_from_another_server(replicas):
    other = replicas[0]  # the notebook's lab, say: another server, with another issuer name

    def login(url, username, password):
        return password_grant(other.url, username, password).json()["access_token"]

    incorrect(ex02.q1.evaluate(login), "token from another server", "not to lab.url")


# --- q2: seconds left ---------------------------------------------------------------------------------

def test_q2_reading_exp_from_the_token_is_caught_with_an_opaque_token():
    def seconds_left(token_response, received_at, now):
        claims = json.loads(decode_segment(token_response["access_token"].split(".")[1]))
        return claims["exp"] - now

    incorrect(ex02.q2.evaluate(seconds_left), "RFC 9068 §6", "expires_in")


def test_q2_forgetting_the_time_that_has_passed():
    # Right by chance where a made-up case has now == received_at, never on the real token (minutes later).
    incorrect(ex02.q2.evaluate(lambda response, received_at, now: response["expires_in"]),
              "subtract the time passed")


def test_q2_the_sign_the_wrong_way_round():
    outcome = ex02.q2.evaluate(lambda response, received_at, now: now - received_at - response["expires_in"])
    incorrect(outcome, "wrong way round")


def test_q2_the_moment_of_expiry_instead_of_the_seconds_left():
    outcome = ex02.q2.evaluate(lambda response, received_at, now: received_at + response["expires_in"])
    incorrect(outcome, "the moment it expires", "subtract now")


def test_q2_a_swapped_argument_order_is_explained():
    outcome = ex02.q2.evaluate(lambda received_at, now, response: received_at + response["expires_in"] - now)
    incorrect(outcome, "raised TypeError")


# --- q3: the token on replica B -----------------------------------------------------------------------------

def test_q3_the_solution_is_correct(replicas):
    lab, b, token, _old = replicas
    r = solution_names(ex02.q3, lab=lab, b=b, token=token)["r"]
    outcome = ex02.q3.evaluate(lab, b, r)
    assert outcome.status is Status.CORRECT, outcome.text
    assert "never issued" in outcome.message and "0 store reads" in outcome.message


def test_q3_the_request_went_to_a(replicas):
    lab, b, token, _old = replicas
    r = requests.get(lab.url + "/api/me", headers=bearer(token))
    incorrect(ex02.q3.evaluate(lab, b, r), "went to server A", "b.url")


def test_q3_the_expired_first_token(replicas):
    lab, b, _token, old = replicas
    r = requests.get(b.url + "/api/me", headers=bearer(old))
    incorrect(ex02.q3.evaluate(lab, b, r), "token has expired", "alice's first token")


def test_q3_b_behind_a(replicas):
    lab, b, token, _old = replicas
    b.clock.advance(minutes=-30)
    try:
        r = requests.get(b.url + "/api/me", headers=bearer(token))
    finally:
        b.clock.set(lab.clock.now())
    incorrect(ex02.q3.evaluate(lab, b, r), "issued in the future", "sets b's clock")


def test_q3_no_token_and_wrong_arguments(replicas):
    lab, b, _token, _old = replicas
    r = requests.get(b.url + "/api/me")
    incorrect(ex02.q3.evaluate(lab, b, r), "carries no bearer token")
    incorrect(ex02.q3.evaluate(lab, b, r.status_code), "pass the response", "not int")
    incorrect(ex02.q3.evaluate(b, r), "pass both servers")
    incorrect(ex02.q3.evaluate(lab, b, requests.get(b.url + "/api/hello")), "went to /api/hello")


def test_q3_a_token_from_a_login_on_b_misses_the_point(replicas):
    lab, b, _token, _old = replicas
    own = password_grant(b.url, "alice", "alice-password").json()["access_token"]
    try:
        r = requests.get(b.url + "/api/me", headers=bearer(own))
        incorrect(ex02.q3.evaluate(lab, b, r), "a login on B", "B never issued")
    finally:
        b.reset()  # forget that login, for the other tests
