"""Lessons 06-08: every answer of the corpora (tests/corpora) gets its verdict and the message that says why."""

from __future__ import annotations

import pytest

from corpora import ex06, ex07, ex08, judge

CASES = [*ex06.CASES, *ex07.CASES, *ex08.CASES]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_check_gives_each_corpus_answer_its_verdict_and_reason(case):
    judge(case)
