"""Helpers the exercise tests share: read a check's outcome, and run an exercise's reference solution."""

from __future__ import annotations


import requests

from coursekit.kit.exercise import Status


def incorrect(outcome, *fragments: str) -> None:
    """Assert that the check found the answer incorrect, with every fragment in its message."""
    assert outcome.status is Status.INCORRECT, outcome.text
    for fragment in fragments:
        assert fragment in outcome.message, outcome.message


def solution_names(exercise, **names) -> dict:
    """Run the exercise's reference solution with ``requests`` and ``names`` defined; return the names it defined."""
    namespace = {"requests": requests, **names}
    given = {*namespace, "__builtins__"}
    exec(exercise.solution_source(), namespace)  # noqa: S102 - our own reference code
    return {name: value for name, value in namespace.items() if name not in given}


def reference(exercise, **names):
    """The one function, class or value the exercise's reference solution defines (run with ``names`` defined)."""
    (answer,) = solution_names(exercise, **names).values()
    return answer
