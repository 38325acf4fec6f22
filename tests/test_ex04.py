"""Notebook 04's exercises: every reference solution passes, and typical mistakes get a message that says why."""

import pytest
import requests

from coursekit import ex04
from coursekit.client import bearer, log_in
from coursekit.exercise import Status, ____
from coursekit.lab import start_lab, stop_lab
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
def demoted():
    """A lab where bob was promoted, logged in as admin, and was demoted again (notebook 04, section 3)."""
    lab = start_lab("test-ex04-stale-role")
    admin = log_in(lab, "admin")["access_token"]
    set_role(lab, admin, "bob", "admin")
    bob_admin = log_in(lab, "bob")
    set_role(lab, admin, "bob", "user")
    yield lab, bob_admin, admin
    stop_lab("test-ex04-stale-role")


def test_q2_the_solution_is_correct(demoted):
    lab, bob_admin, _admin = demoted
    names = solution_names(ex04.q2, lab=lab, bob_admin=bob_admin, bearer=bearer)
    outcome = ex04.q2.evaluate(lab, names["r"])
    assert outcome.status is Status.CORRECT, outcome.text
    assert "reads the role from the token's roles claim" in outcome.message
    assert "09:30:00" in outcome.message  # bob's token's exp, by the lab clock


def test_q2_a_token_from_a_new_login_is_not_the_old_one(demoted):
    lab, _bob_admin, _admin = demoted
    fresh = log_in(lab, "bob")["access_token"]
    r = requests.get(lab.url + "/api/admin", headers=bearer(fresh))
    incorrect(ex04.q2.evaluate(lab, r), "roles ['user']", "from a login after the demotion")


def test_q2_the_wrong_route(demoted):
    lab, bob_admin, _admin = demoted
    r = requests.get(lab.url + "/api/me", headers=bearer(bob_admin["access_token"]))
    incorrect(ex04.q2.evaluate(lab, r), "went to /api/me", "/api/admin")


def test_q2_someone_elses_token(demoted):
    lab, _bob_admin, admin = demoted
    r = requests.get(lab.url + "/api/admin", headers=bearer(admin))
    incorrect(ex04.q2.evaluate(lab, r), "that is admin's token")


def test_q2_a_status_code_instead_of_the_response(demoted):
    lab, bob_admin, _admin = demoted
    r = requests.get(lab.url + "/api/admin", headers=bearer(bob_admin["access_token"]))
    incorrect(ex04.q2.evaluate(lab, r.status_code), "pass the response", "not int")


def test_q2_before_the_demotion_says_to_demote_first(demoted):
    lab, bob_admin, admin = demoted
    set_role(lab, admin, "bob", "admin")
    try:
        r = requests.get(lab.url + "/api/admin", headers=bearer(bob_admin["access_token"]))
        incorrect(ex04.q2.evaluate(lab, r), "bob is still an admin")
    finally:
        set_role(lab, admin, "bob", "user")


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


def test_q3_a_wrong_login_limit():
    incorrect(ex04.q3.evaluate(240, 3, 180), "at most 4 logins a day")
