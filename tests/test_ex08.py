"""Notebook 08's exercises: the reference solutions pass on labs of their own, and the answers a learner would
plausibly give wrong are told what went wrong."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
import requests

from coursekit.exercises import ex08
from coursekit.kit.exercise import Status, ____
from exercise_helpers import incorrect, reference


def solution(exercise):
    return reference(exercise, re=re, parse_qs=parse_qs)


# --- q1: read the wire ------------------------------------------------------------------------------------

def test_q1_the_reference_finds_both_secrets_in_plain_http_and_nothing_through_tls():
    outcome = ex08.q1.evaluate(solution(ex08.q1))
    assert outcome.status is Status.CORRECT, outcome.text
    assert "nothing claimed in TLS ciphertext" in outcome.message


def test_q1_blank_is_not_answered_yet():
    def find_secrets(captured):
        return ____

    assert ex08.q1.evaluate(find_secrets).status is Status.NOT_ANSWERED


def _finder(password_of):
    def find_secrets(captured: bytes) -> dict:
        text = captured.decode("latin-1")
        token = re.search(r"Authorization: Bearer (\S+)", text)
        return {"password": password_of(text), "token": token.group(1) if token else None}
    return find_secrets


def test_q1_a_password_left_url_encoded_is_explained():
    raw = _finder(lambda text: (m := re.search(r"password=([^&\r\n]*?)(?:GET |$)", text)) and m.group(1))
    incorrect(ex08.q1.evaluate(raw), "carol's password is 'p@ss w0rd&more='", "form-encoded", "parse_qs")


def test_q1_reading_past_the_body_into_the_next_request_is_explained():
    greedy = _finder(lambda text: (m := re.search(r"&password=(\S*)", text)) and m.group(1))
    incorrect(ex08.q1.evaluate(greedy), "alice's password is 'alice-password', you found 'alice-passwordGET'",
              "past the end of the body", "Content-Length")


def test_q1_a_token_read_to_the_end_of_the_line_shows_its_trailing_carriage_return():
    right = solution(ex08.q1)

    def to_line_end(captured):
        found = right(captured)
        token = re.search(r"Authorization: Bearer (.+)", captured.decode("latin-1"))
        return {**found, "token": token.group(1) if token else None}

    incorrect(ex08.q1.evaluate(to_line_end), "you found the token with '\\r' after it", "(\\S+)")


def test_q1_a_wrong_token_is_shown_by_its_start_and_its_end():
    right = solution(ex08.q1)
    incorrect(ex08.q1.evaluate(lambda captured: {**right(captured), "token": "x" * 30 + "\r"}),
              "you found 'xxxxxxxxxxxxxxxx'...'xxxxx\\r'")


def test_q1_claiming_secrets_in_ciphertext_is_incorrect():
    right = solution(ex08.q1)

    def find_secrets(captured):
        found = right(captured)
        return found if found["token"] else {"password": "alice-password", "token": None}

    incorrect(ex08.q1.evaluate(find_secrets), "through TLS you found", "ciphertext")


def test_q1_a_wrong_shape_and_a_crash_are_explained():
    incorrect(ex08.q1.evaluate(lambda captured: ("alice-password", "token")), "a dict with the keys")
    incorrect(ex08.q1.evaluate(lambda captured: captured.decode()), "a dict with the keys", "got 'POST /oauth/")
    right = solution(ex08.q1)
    incorrect(ex08.q1.evaluate(lambda captured: right(captured.decode("utf-8").encode())),
              "find_secrets raised UnicodeDecodeError", "through TLS")
    incorrect(ex08.q1.evaluate(lambda captured: {"password": None, "token": None}),
              "the bearer token is", "you found None")


# --- q2: verify, never switch verification off ------------------------------------------------------------

def test_q2_the_reference_accepts_the_lab_and_refuses_the_impostor():
    outcome = ex08.q2.evaluate(solution(ex08.q2))
    assert outcome.status is Status.CORRECT, outcome.text
    assert outcome.message == ("the genuine lab answered; the impostor and the server whose certificate names "
                               "another host were refused before a request reached them, even with "
                               "REQUESTS_CA_BUNDLE pointing elsewhere.")


def test_q2_verify_false_talks_to_the_impostor():
    def fetch_hello(url, ca_file):
        import urllib3
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            return requests.get(url + "/api/hello", verify=False, timeout=10).json()

    incorrect(ex08.q2.evaluate(fetch_hello), "talked to an impostor", "never verify=False")


def test_q2_the_system_cas_alone_refuse_the_lab():
    incorrect(ex08.q2.evaluate(lambda url, ca: requests.get(url + "/api/hello", timeout=10).json()),
              "refused the genuine lab", "verify=ca_file")


def test_q2_a_sessions_verify_overridden_by_the_environment_is_explained():
    def fetch_hello(url, ca_file):
        session = requests.Session()
        session.verify = ca_file  # REQUESTS_CA_BUNDLE wins over this (requests #3829)
        return session.get(url + "/api/hello", timeout=10).json()

    incorrect(ex08.q2.evaluate(fetch_hello), "refused the genuine lab", "REQUESTS_CA_BUNDLE")


def test_q2_the_environment_is_restored_after_the_check(monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nowhere/bundle.pem")
    ex08.q2.evaluate(solution(ex08.q2))
    import os
    assert os.environ["REQUESTS_CA_BUNDLE"] == "/nowhere/bundle.pem"


# --- q3: where to keep the login ---------------------------------------------------------------------------

RIGHT = dict(script_reads={"localStorage"}, usable_after_tab_closed={"localStorage", "memory"},
             sent_by_cross_site_form=set(), sent_by_same_site_form={"cookie"}, script_reads_under_csp=set(),
             sent_by_same_site_form_under_csp={"cookie"})


def test_q3_the_reference_is_correct():
    names = {}
    exec(ex08.q3.solution_source(), names)  # noqa: S102 - our own reference code
    outcome = ex08.q3.evaluate(*(names[k] for k in RIGHT))
    assert outcome.status is Status.CORRECT, outcome.text
    assert "backend-for-frontend" in outcome.message


@pytest.mark.parametrize("name, wrong, fragment", [
    ("script_reads", {"localStorage", "cookie"}, "document.cookie was \"\" (HttpOnly)"),
    ("usable_after_tab_closed", {"localStorage"}, "the in-memory one on the page's next API call"),
    ("usable_after_tab_closed", {"localStorage", "memory", "cookie"}, "the HttpOnly cookie never left"),
    ("sent_by_cross_site_form", {"cookie"}, "SameSite=Strict cookie stayed home"),
    ("sent_by_same_site_form", set(), "another origin but the same site"),
    ("sent_by_same_site_form", {"cookie", "localStorage"}, "another origin but the same site"),
    ("script_reads_under_csp", {"localStorage"}, "refused to load the attacker's script at all"),
    ("sent_by_same_site_form_under_csp", set(), "the form is on the attacker's page"),
])
def test_q3_each_plausible_wrong_answer_gets_the_measured_reason(name, wrong, fragment):
    incorrect(ex08.q3.evaluate(**{**RIGHT, name: wrong}), f"{name} is", fragment)


def test_q3_wrong_shapes_are_explained():
    incorrect(ex08.q3.evaluate(**{**RIGHT, "script_reads": "localStorage"}), "should be a set of modes")
    incorrect(ex08.q3.evaluate(**{**RIGHT, "script_reads": {"sessionStorage"}}), "is not a mode")
    assert ex08.q3.evaluate(**{**RIGHT, "script_reads": ____}).status is Status.NOT_ANSWERED
