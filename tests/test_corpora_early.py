"""Lessons 01-05: every answer of the corpus (tests/corpora/early.py) gets its verdict and the message that says why."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from coursekit.kit.exercise import Status

from coursekit.labtools.lab import fresh_lab
from coursekit.labtools.client import log_in
from corpora import early, judge


@pytest.mark.parametrize("case", early.CASES, ids=[c.id for c in early.CASES])
def test_the_check_gives_each_corpus_answer_its_verdict_and_reason(case):
    judge(case)


def test_the_payload_decoders_of_the_corpus():
    token = log_in(fresh_lab(), "alice")["access_token"]
    for case in early.decode_cases(token):
        judge(case)


@pytest.mark.parametrize("status, verdict, fragment", [
    (HTTPStatus.UNAUTHORIZED, Status.CORRECT, ""),        # the same number, named
    (HTTPStatus.FORBIDDEN, Status.INCORRECT, "403"),       # "forbidden" sounds right; the server does not know who
    (True, Status.INCORRECT, ""),                          # a bool is an int in Python, not a status
])
def test_lesson_00s_status_answers(status, verdict, fragment):
    from coursekit.exercises import ex00

    outcome = ex00.q1.evaluate(fresh_lab(), status)
    assert outcome.status is verdict, outcome.text
    assert fragment in outcome.message
