"""Corpora of answers a learner might give, per lesson: wrong ones the checks must refuse with a message that
names what is missing, and right ones written differently from the reference that they must accept.

Each lesson's module lists ``CASES``: ``Case(exercise, name, answer, verdict, fragments)``. ``answer`` is the
tuple of arguments the learner passes to ``check()``; ``fragments`` are pieces of the message the learner reads
(all must appear). tests/test_corpora_*.py run them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coursekit.kit.exercise import Status

WRONG, RIGHT = Status.INCORRECT, Status.CORRECT


@dataclass(frozen=True)
class Case:
    exercise: Any          # the exercise object, e.g. ex08.q2
    name: str              # what the answer does, as a test id
    answer: tuple          # the arguments of check()
    verdict: Status
    fragments: tuple[str, ...] = field(default=())
    kwargs: dict = field(default_factory=dict)  # e.g. behaviour="race"

    @property
    def id(self) -> str:
        return f"{self.exercise.name}-{'right' if self.verdict is RIGHT else 'wrong'}-{self.name}"


def wrong(exercise, name: str, *answer, says: tuple[str, ...] | str, **kwargs) -> Case:
    return Case(exercise, name, answer, WRONG, (says,) if isinstance(says, str) else tuple(says), kwargs)


def right(exercise, name: str, *answer, says: tuple[str, ...] | str = (), **kwargs) -> Case:
    return Case(exercise, name, answer, RIGHT, (says,) if isinstance(says, str) else tuple(says), kwargs)


def judge(case: Case) -> None:
    """Assert the verdict and every fragment of the message the learner sees."""
    outcome = case.exercise.evaluate(*case.answer, **case.kwargs)
    assert outcome.status is case.verdict, outcome.text
    for fragment in case.fragments:
        assert fragment in outcome.message, f"{fragment!r} not in {outcome.message!r}"
