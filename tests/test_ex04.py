"""Notebook 04's exercises: every reference solution passes, and typical mistakes get a message that says why."""

from http import HTTPStatus

import pytest
import requests

from coursekit.exercises import ex04
from coursekit.labtools.client import bearer, log_in
from coursekit.kit.exercise import Status, ____
from coursekit.labtools.lab import start_lab, stop_lab
from exercise_helpers import incorrect, solution_names


def set_role(server, admin, username, role):
    r = requests.patch(server.url + f"/admin/users/{username}", json={"role": role}, headers=bearer(admin))
    assert r.status_code == 200, r.text


# --- q1: leeway at the boundary ---------------------------------------------------------------------

def test_q1_the_solution_is_correct_and_reports_what_the_server_said():
    names = solution_names(ex04.q1)
    outcome = ex04.q1.evaluate(names["last_accepted"], names["first_rejected"])
    assert outcome.status is Status.CORRECT, outcome.text
    assert "accepted the token 59 s after exp and rejected it 60 s after exp" in outcome.message


def test_q1_blanks_are_not_answered_yet():
    assert ex04.q1.evaluate(____, ____).status is Status.NOT_ANSWERED


def test_q1_one_second_too_late_is_already_rejected():
    incorrect(ex04.q1.evaluate(60, 61), "at exp + 60 s the server already rejects the token",
              "while now < exp + 60 s")


def test_q1_forgetting_the_leeway_is_caught_by_the_server():
    incorrect(ex04.q1.evaluate(0, 1), "at exp + 1 s the server still accepts the token (200)", "leeway")


def test_q1_right_sides_but_not_the_boundary():
    incorrect(ex04.q1.evaluate(30, 60), "not neighbours")


@pytest.mark.parametrize("answer, message", [
    (("59", 60), "should be a number of seconds"),
    ((59.5, 60), "whole number of seconds"),
])
def test_q1_wants_whole_seconds(answer, message):
    incorrect(ex04.q1.evaluate(*answer), message)


def test_q1_checks_do_not_touch_each_other():
    """Each check starts from a reset server at the course's start time: the same answer, the same outcome."""
    first = ex04.q1.evaluate(59, 60)
    second = ex04.q1.evaluate(59, 60)
    assert first == second and first.status is Status.CORRECT


# --- q2: the demoted admin's old token --------------------------------------------------------------

@pytest.fixture(scope="module")
def bob_admin():
    """Bob's login as an admin at 09:30 on a lab of its own (notebook 04, section 3): the token the learner predicts about."""
    lab = start_lab("test-ex04-stale-role")
    lab.clock.advance(minutes=30)
    admin = log_in(lab, "admin")["access_token"]
    set_role(lab, admin, "bob", "admin")
    tokens = log_in(lab, "bob")
    set_role(lab, admin, "bob", "user")
    yield tokens
    stop_lab("test-ex04-stale-role")


def test_q2_the_solution_is_correct_and_reports_what_the_lab_did(bob_admin):
    names = solution_names(ex04.q2)
    outcome = ex04.q2.evaluate(bob_admin, names["predicted_status"], names["deciding_claim"], names["refused_from"])
    assert outcome.status is Status.CORRECT, outcome.text
    for fragment in ("still opened the admin route (200) with 0 store reads", "roles claim, ['admin']",
                     "a login now says ['user']", "refused the old token from 10:00 (401, token has expired)"):
        assert fragment in outcome.message, outcome.message


def test_q2_blanks_are_not_answered_yet(bob_admin):
    assert ex04.q2.evaluate(bob_admin, ____, ____, ____).status is Status.NOT_ANSWERED


def test_q2_predicting_403_is_answered_with_the_200_and_the_store_reads(bob_admin):
    incorrect(ex04.q2.evaluate(bob_admin, 403, "roles", "10:00"), "you predicted 403; the lab answered 200",
              "read the store 0 times", "never asked")


def test_q2_predicting_401_says_a_role_change_does_not_invalidate(bob_admin):
    incorrect(ex04.q2.evaluate(bob_admin, 401, "roles", "10:00"), "you predicted 401",
              "a role change does not make a token invalid")


@pytest.mark.parametrize("claim, message", [
    ("role", "its name is plural"),
    ("sub", "did not look bob's role up by sub"),
    ("username", "did not look bob's role up by username"),
    ("aud", "'lab-api' in the old token; it does not say what bob may do"),
    ("scope", "bob's token has no scope claim"),
])
def test_q2_the_wrong_claim_is_told_why(bob_admin, claim, message):
    incorrect(ex04.q2.evaluate(bob_admin, 200, claim, "10:00"), f"deciding_claim {claim!r}", message)


def test_q2_the_minute_of_the_demotion_is_not_when_the_token_stops(bob_admin):
    incorrect(ex04.q2.evaluate(bob_admin, 200, "roles", "09:30"), "09:30 is not later than 09:30",
              "let the old token in after the demotion (200)")


def test_q2_a_minute_too_early_the_lab_still_lets_it_in(bob_admin):
    incorrect(ex04.q2.evaluate(bob_admin, 200, "roles", "09:59"), "at 09:59 the lab still let bob's old token in")


def test_q2_too_late_the_lab_had_already_refused_it(bob_admin):
    incorrect(ex04.q2.evaluate(bob_admin, 200, "roles", "10:30"), "at 10:29, a minute before 10:30",
              "already refused the old token (401, token has expired)")


def test_q2_every_wrong_prediction_is_reported_at_once(bob_admin):
    incorrect(ex04.q2.evaluate(bob_admin, 403, "sub", "09:59"), "you predicted 403", "deciding_claim 'sub'",
              "at 09:59")


@pytest.mark.parametrize("answer, message", [
    ((200, "roles", 10), 'written "HH:MM"'),
    ((200, "roles", "25:00"), "not a time of day"),
    (("200", "roles", "10:00"), "should be an HTTP status code"),
    ((200, ["roles"], "10:00"), "should be the name of a claim"),
])
def test_q2_answers_of_the_wrong_type(bob_admin, answer, message):
    incorrect(ex04.q2.evaluate(bob_admin, *answer), message)


def test_q2_a_token_from_a_new_login_is_not_the_old_one(bob_admin):
    lab = start_lab("test-ex04-stale-role")
    incorrect(ex04.q2.evaluate(log_in(lab, "bob"), 200, "roles", "10:00"), "pass bob_admin")


@pytest.mark.parametrize("refused_from, second_before", [("10:00:30", "10:00:29"), ("10:00:59", "10:00:58"),
                                                         ("10:00:01", "10:00:00")])
def test_q2_seconds_after_exp_are_too_late(bob_admin, refused_from, second_before):
    """The old token is refused from its exp, 10:00:00: a time later in that minute is wrong, even by a second."""
    incorrect(ex04.q2.evaluate(bob_admin, 200, "roles", refused_from),
              f"at {second_before}, one second before {refused_from}, the lab already refused the old token",
              "on the exact second of its exp")


@pytest.mark.parametrize("status, message", [(200.5, "a whole number (int) such as 200"),
                                             (float("nan"), "a whole number (int) such as 200")])
def test_q2_a_status_that_is_no_whole_number(bob_admin, status, message):
    incorrect(ex04.q2.evaluate(bob_admin, status, "roles", "10:00"), message)


def test_q2_something_else_than_the_token_response(bob_admin):
    incorrect(ex04.q2.evaluate(200, 200, "roles", "10:00"), "pass bob's token response first")


# --- q3: choose a lifetime ----------------------------------------------------------------------------

def test_q3_the_solution_is_correct_and_gives_the_whole_range():
    names = solution_names(ex04.q3)
    outcome = ex04.q3.evaluate(names["max_window_minutes"], names["max_logins_per_day"], names["lifetime_minutes"])
    assert outcome.status is Status.CORRECT, outcome.text
    assert "from 120 to 240 min" in outcome.message


@pytest.mark.parametrize("lifetime", [120, 200, 240])
def test_q3_any_lifetime_in_the_range_is_correct(lifetime):
    assert ex04.q3.evaluate(240, 4, lifetime).status is Status.CORRECT


def test_q3_hours_instead_of_minutes():
    incorrect(ex04.q3.evaluate(4, 4, 180), "4 is the limit in hours")


def test_q3_the_average_instead_of_the_worst_case():
    incorrect(ex04.q3.evaluate(120, 4, 100), "the worst case, not the average")


def test_q3_too_short_a_lifetime_fails_the_logins():
    incorrect(ex04.q3.evaluate(240, 4, 60), "logs in 8 times a day", "over the limit of 4", "longer")


def test_q3_too_long_a_lifetime_fails_the_window():
    incorrect(ex04.q3.evaluate(240, 4, 2 * 7 * 24 * 60), "works for 20160 min", "240-minute limit", "shorter")


@pytest.mark.parametrize("lifetime, figure", [(119.9, "logs in 4.003 times a day"),
                                               (119.99, "logs in 4.0003 times a day")])
def test_q3_just_too_short_shows_a_figure_over_the_limit(lifetime, figure):
    """Rounded to 3 digits 480 / 119.9 reads 4, which is no more than the limit: the message shows enough digits."""
    incorrect(ex04.q3.evaluate(240, 4, lifetime), figure, "over the limit of 4", "longer")


def test_q3_just_too_long_shows_a_figure_over_the_limit():
    incorrect(ex04.q3.evaluate(240, 4, 240.0001), "works for 240.0001 min", "240-minute limit", "shorter")


def test_q3_a_wrong_login_limit():
    incorrect(ex04.q3.evaluate(240, 3, 180), "at most 4 logins a day")


@pytest.mark.parametrize("status, claim, refused_from", [
    (HTTPStatus.OK, "roles", "10:00"),       # the status as an HTTPStatus
    (200, "roles", "10:00:00"),              # the time with seconds
    (200.0, "roles", "10:00"),               # the status as a whole float
])
def test_q2_the_predictions_written_differently_are_right(bob_admin, status, claim, refused_from):
    """Corpus: right predictions in other spellings."""
    outcome = ex04.q2.evaluate(bob_admin, status, claim, refused_from)
    assert outcome.status is Status.CORRECT, outcome.text
