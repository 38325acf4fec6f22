"""Notebook 00's warm-up exercise: the reference solution passes, and typical slips get a message that says why."""

import pytest
import requests

from coursekit.exercises import ex00
from coursekit.kit.exercise import Status, ____
from coursekit.labtools.lab import start_lab, stop_lab
from exercise_helpers import incorrect, solution_names


@pytest.fixture(scope="module")
def lab():
    server = start_lab("test-ex00")
    yield server
    stop_lab("test-ex00")


def test_the_solution_is_correct_and_the_check_asked_the_server_again(lab):
    outcome = ex00.q1.evaluate(lab, solution_names(ex00.q1)["status"])
    assert outcome.status is Status.CORRECT, outcome.text
    assert 'WWW-Authenticate: Bearer realm="labserver"' in outcome.message


def test_the_blank_is_not_answered_yet(lab):
    assert ex00.q1.evaluate(lab, ____).status is Status.NOT_ANSWERED


def test_403_is_explained_without_giving_the_answer_away(lab):
    outcome = ex00.q1.evaluate(lab, 403)
    incorrect(outcome, "403 Forbidden", "does not know who you are")
    assert "401" not in outcome.message


def test_200_and_unknown_codes_are_explained(lab):
    incorrect(ex00.q1.evaluate(lab, 200), "first number the cell printed")
    incorrect(ex00.q1.evaluate(lab, 418), "418 is not what the server answers")


def test_the_code_as_text_or_the_whole_response(lab):
    incorrect(ex00.q1.evaluate(lab, "401"), "without quotes")
    r = requests.get(lab.url + "/api/me")
    incorrect(ex00.q1.evaluate(lab, r), "r.status_code")
    incorrect(ex00.q1.evaluate(lab, 401.5), "whole number")


def test_forgetting_the_lab_argument(lab):
    incorrect(ex00.q1.evaluate(401, lab), "pass the lab server first")
