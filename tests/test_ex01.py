"""Notebook 01's exercises: every reference solution passes, and typical mistakes get a message that says why."""

import hashlib
import random

import pytest
import requests

from coursekit.exercises import ex01
from coursekit.kit.exercise import Status, ____
from exercise_helpers import incorrect, reference

LAB_HEADER = "session=o7nTknq8n0yPsKFx-6yzRabHlq_nlntgSM07rkBEMVw; HttpOnly; Path=/; SameSite=strict"


@pytest.mark.parametrize("exercise", [ex01.q2, ex01.q3], ids=["q2", "q3"])
def test_reference_solutions_are_correct(exercise):
    outcome = exercise.evaluate(reference(exercise, hashlib=hashlib))  # the notebook imports hashlib
    assert outcome.status is Status.CORRECT, outcome.text


def test_functions_that_still_use_the_blank_are_not_answered_yet():
    def cookie_flags(set_cookie):
        return {"HttpOnly": ____}

    def my_session_row(server, session_id):
        return next(row for row in server.table("sessions") if row["id_hash"] == ____)  # nested code object

    assert ex01.q1.evaluate(cookie_flags, LAB_HEADER).status is Status.NOT_ANSWERED
    assert ex01.q2.evaluate(my_session_row).status is Status.NOT_ANSWERED


def test_answers_that_are_not_functions_are_explained():
    incorrect(ex01.q2.evaluate({"id_hash": "..."}), "pass your function itself")


# --- q1: cookie flags ---------------------------------------------------------------------------------

def test_q1_the_solution_is_correct_on_the_lab_header():
    outcome = ex01.q1.evaluate(reference(ex01.q1), LAB_HEADER)
    assert outcome.status is Status.CORRECT, outcome.text
    assert "HttpOnly and SameSite=Strict, and not Secure" in outcome.message


def test_q1_the_expected_flags_agree_with_the_standard_library_parser():
    for what, header, expected, _advice in ex01._flag_cases(random.Random(1), LAB_HEADER):
        if "NAMED like an attribute" in what:  # SimpleCookie refuses a cookie named like a reserved attribute
            continue
        assert ex01._stdlib_flags(header) == expected, header


def test_q1_a_substring_search_is_fooled_by_the_cookie_value():
    def cookie_flags(set_cookie):
        text = set_cookie.lower()
        return {"HttpOnly": "httponly" in text, "Secure": "secure" in text,
                "SameSite": reference(ex01.q1)(set_cookie)["SameSite"]}

    incorrect(ex01.q1.evaluate(cookie_flags, LAB_HEADER), "cookie's value", "not a substring search")


def test_q1_case_sensitive_attribute_names_are_explained():
    def cookie_flags(set_cookie):
        names = [part.strip().partition("=")[0] for part in set_cookie.split(";")[1:]]
        values = dict(part.strip().partition("=")[::2] for part in set_cookie.split(";")[1:])
        return {"HttpOnly": "HttpOnly" in names, "Secure": "Secure" in names, "SameSite": values.get("SameSite")}

    incorrect(ex01.q1.evaluate(cookie_flags, LAB_HEADER), "lower case", "case-insensitive", "name.lower()")


def test_q1_forgetting_the_last_attribute_is_explained():
    def cookie_flags(set_cookie):
        return reference(ex01.q1)(set_cookie.rsplit(";", 1)[0])  # drops the last attribute

    incorrect(ex01.q1.evaluate(cookie_flags, LAB_HEADER), "the lab's Set-Cookie header")


def test_q1_the_wrong_shape_of_answer_is_explained():
    incorrect(ex01.q1.evaluate(lambda h: (True, False, "strict"), LAB_HEADER), "returns tuple", "return a dict")
    incorrect(ex01.q1.evaluate(lambda h: {"httponly": True}, LAB_HEADER), "no 'HttpOnly', 'Secure', 'SameSite' key")
    incorrect(ex01.q1.evaluate(lambda h: {"HttpOnly": "yes", "Secure": False, "SameSite": None}, LAB_HEADER),
              "HttpOnly should be True or False")
    incorrect(ex01.q1.evaluate(lambda h: h.split(";")[5], LAB_HEADER), "raised IndexError")


def test_q1_a_wrong_second_argument_is_explained():
    incorrect(ex01.q1.evaluate(reference(ex01.q1), 200), "q1.check(cookie_flags, set_cookie)")


# --- q2: your session's row ------------------------------------------------------------------------------

def test_q2_returning_the_first_row_names_whose_row_it_was():
    def my_session_row(server, session_id):
        return server.table("sessions")[0]

    incorrect(ex01.q2.evaluate(my_session_row), "for bob's session your function returns alice's row")


def test_q2_using_the_notebooks_lab_instead_of_the_argument():
    def my_session_row(server, session_id):
        return None  # as if it had looked in another server's table

    incorrect(ex01.q2.evaluate(my_session_row), "did not call server.table('sessions')", "not lab")


def test_q2_a_wrong_hash_is_explained():
    def my_session_row(server, session_id):
        id_hash = hashlib.sha256(session_id.encode()).hexdigest().upper()
        return next(row for row in server.table("sessions") if row["id_hash"] == id_hash)

    incorrect(ex01.q2.evaluate(my_session_row), "no row matched bob's session", ".hexdigest()")


def test_q2_returning_the_hash_or_none():
    def the_hash(server, session_id):
        server.table("sessions")
        return hashlib.sha256(session_id.encode()).hexdigest()

    def nothing(server, session_id):
        server.table("sessions")

    incorrect(ex01.q2.evaluate(the_hash), "returns the hash", "whole row")
    incorrect(ex01.q2.evaluate(nothing), "returns None", "no row matched")


# --- q3: predict the copied cookie after logout --------------------------------------------------------

def test_q3_the_prediction_the_lab_bears_out():
    assert ex01.q3.evaluate({"status": 401, "alice_row_in_store": False}).status is Status.CORRECT


def test_q3_predicting_the_copy_still_works():
    incorrect(ex01.q3.evaluate({"status": 200, "alice_row_in_store": True}),
              "the logout DELETED alice's row", "answered the copy 401 login_required, not 200", "next cell")


def test_q3_predicting_403():
    incorrect(ex01.q3.evaluate({"status": 403, "alice_row_in_store": False}), "not 403", "does not know who")


def test_q3_the_right_status_for_the_wrong_reason():
    incorrect(ex01.q3.evaluate({"status": 401, "alice_row_in_store": True}), "DELETED alice's row")


def test_q3_a_status_written_as_a_whole_float_is_the_status():
    """401.0 is the number 401: it is judged like 401, not told it is no number."""
    assert ex01.q3.evaluate({"status": 401.0, "alice_row_in_store": False}).status is Status.CORRECT
    incorrect(ex01.q3.evaluate({"status": 403.0, "alice_row_in_store": False}), "not 403")
    incorrect(ex01.q3.evaluate({"status": 401.5, "alice_row_in_store": False}),
              "status should be a whole number (int), such as 200, not 401.5")


def test_q3_a_prediction_of_the_wrong_shape():
    incorrect(ex01.q3.evaluate({"status": "401", "alice_row_in_store": False}), "a whole number")
    incorrect(ex01.q3.evaluate({"status": 401, "alice_row_in_store": "no"}), "True or False")
    incorrect(ex01.q3.evaluate(401), "fill in the dict")
    assert ex01.q3.evaluate({"status": ____, "alice_row_in_store": ____}).status is Status.NOT_ANSWERED
