"""Notebook 02's exercises: every reference solution passes, and typical mistakes get a message that says why."""

import pytest
import requests

from coursekit.exercises import ex02
from coursekit.kit.exercise import Status, ____
from coursekit.labtools.lab import start_lab, stop_lab
from exercise_helpers import incorrect, solution_names


def password_grant(url, username, password):
    return requests.post(url + "/oauth/token",
                         data={"grant_type": "password", "username": username, "password": password})


@pytest.mark.parametrize("exercise, name", [(ex02.q1, "login"), (ex02.q2, "prediction")], ids=["q1", "q2"])
def test_reference_solutions_are_correct(exercise, name):
    outcome = exercise.evaluate(solution_names(exercise)[name])
    assert outcome.status is Status.CORRECT, outcome.text


def test_functions_that_still_use_the_blank_are_not_answered_yet():
    def login(url, username, password):
        r = ____
        return r

    assert ex02.q1.evaluate(login).status is Status.NOT_ANSWERED
    assert ex02.q2.evaluate({"refused_from": ____, "status": ____}).status is Status.NOT_ANSWERED


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


# --- q2: predict when the token is refused ---------------------------------------------------------------

def test_q2_a_second_after_exp_is_too_late():
    incorrect(ex02.q2.evaluate({"refused_from": "09:30:01", "status": 401}),
              "one second before 09:30:01 the lab already answered 401 token has expired", "earlier")


def test_q2_a_minute_early():
    incorrect(ex02.q2.evaluate({"refused_from": "09:29", "status": 401}), "at 09:29 the lab still accepted", "later")


def test_q2_the_material_two_weeks():
    incorrect(ex02.q2.evaluate({"refused_from": "09:00:00", "status": 401}), "already answered", "earlier")


def test_q2_the_right_moment_with_403():
    incorrect(ex02.q2.evaluate({"refused_from": "09:30:00", "status": 403}),
              "the moment is right, but the lab answered 401 token has expired, not 403")


def test_q2_a_prediction_of_the_wrong_shape():
    incorrect(ex02.q2.evaluate({"refused_from": 1800, "status": 401}), "lab time as text")
    incorrect(ex02.q2.evaluate({"refused_from": "09:30", "status": "401"}), "a whole number")
    incorrect(ex02.q2.evaluate({"exp": "09:30"}), "fill in the dict")


def test_q2_a_status_written_as_a_whole_float_is_the_status():
    """401.0 is the number 401: it is judged like 401, not told it is no number."""
    assert ex02.q2.evaluate({"refused_from": "09:30:00", "status": 401.0}).status is Status.CORRECT
    incorrect(ex02.q2.evaluate({"refused_from": "09:30:00", "status": 403.0}), "not 403")


def test_q2_a_status_that_is_not_whole():
    incorrect(ex02.q2.evaluate({"refused_from": "09:30:00", "status": 401.5}),
              "status should be a whole number (int), such as 200, not 401.5")


# --- q3: predict alice's token on replica B -----------------------------------------------------------------

def test_q3_the_solution_is_correct(replicas):
    lab, b, token, _old = replicas
    prediction = solution_names(ex02.q3)["prediction"]
    outcome = ex02.q3.evaluate(lab, b, token, prediction)
    assert outcome.status is Status.CORRECT, outcome.text
    assert "200, with 0 store reads" in outcome.message


def test_q3_predicting_a_refusal(replicas):
    lab, b, token, _old = replicas
    incorrect(ex02.q3.evaluate(lab, b, token, {"status": 401, "store_reads": 1}),
              "B answered 200, not 401", "needs no record of her", "B read its store 0 times, not 1")


def test_q3_predicting_a_store_read(replicas):
    lab, b, token, _old = replicas
    incorrect(ex02.q3.evaluate(lab, b, token, {"status": 200, "store_reads": 1}), "0 times, not 1",
              "the token carries all B needs")


def test_q3_b_behind_a(replicas):
    lab, b, token, _old = replicas
    b.clock.advance(minutes=-30)
    try:
        outcome = ex02.q3.evaluate(lab, b, token, {"status": 200, "store_reads": 0})
    finally:
        b.clock.set(lab.clock.now())
    incorrect(outcome, "issued in the future", "sets b's clock")


def test_q3_the_expired_first_token_is_named(replicas):
    lab, b, _token, old = replicas
    incorrect(ex02.q3.evaluate(lab, b, old, {"status": 200, "store_reads": 0}), "B answered 401, not 200",
              "token has expired")


def test_q3_wrong_arguments(replicas):
    lab, b, token, _old = replicas
    incorrect(ex02.q3.evaluate(b, {"status": 200, "store_reads": 0}), "pass both servers")
    incorrect(ex02.q3.evaluate(lab, b, token, {"status": 200}), "fill in the dict")
    incorrect(ex02.q3.evaluate(lab, b, token, {"status": 200, "store_reads": "none"}),
              "store_reads should be a whole number (int)")
    incorrect(ex02.q3.evaluate(lab, b, token, {"status": 200, "store_reads": 0.5}),
              "store_reads should be a whole number (int), such as 200, not 0.5")


def test_q3_the_prediction_written_differently_is_right(replicas):
    """Corpus: the same prediction, keys in another order and the status as an HTTPStatus."""
    from http import HTTPStatus

    lab, b, token, _old = replicas
    assert ex02.q3.evaluate(lab, b, token, {"store_reads": 0, "status": HTTPStatus.OK}).status is Status.CORRECT
    assert ex02.q3.evaluate(lab, b, token, {"store_reads": 0.0, "status": 200.0}).status is Status.CORRECT
