"""The capstone's grading: exercises scored per behaviour, each behaviour checked on fresh labs of its own.

A ``GradedByBehaviour`` exercise is an ``Exercise`` whose answer is judged on several behaviours, each worth
its points. ``q1.check(answer)`` runs them all and shows a table of what passed; a graded assignment runs
one behaviour per test cell, ``q1.assert_correct(answer, behaviour="race")``, and its hidden cases with
``q1.assert_correct_hidden(answer, behaviour="race")``. The self-check a learner runs and the grader's
tests call the same code below, so a learner sees exactly what will be graded (minus the hidden cases).

The two tasks themselves (the client and the verifier) are in ``coursekit.exercises.ex09.client`` and
``coursekit.exercises.ex09.verifier``; ``coursekit.exercises.ex09`` names them q1 and q2 for notebook 09.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coursekit.kit.exercise import Exercise, Incorrect
from coursekit.kit.timelimit import run_limited

__all__ = ["Behaviour", "GradedByBehaviour", "within"]


@dataclass(frozen=True)
class Behaviour:
    """One graded behaviour: ``check(answer, hidden)`` raises Incorrect saying what went wrong."""

    name: str        # short id, used in grade ids: "race"
    title: str       # what the learner reads: "survives a refresh race"
    points: int
    check: Callable[[Any, bool], None]


def within(seconds: float, action: Callable[[], Any], what: str) -> Any:
    """Run action and return its result; past ``seconds`` it is stopped and reported (coursekit.kit.timelimit)."""
    return run_limited(seconds, action, what)


class GradedByBehaviour(Exercise):
    """An exercise graded per behaviour; subclasses set ``behaviours`` (and title, hints, solution)."""

    behaviours: tuple[Behaviour, ...] = ()

    @property
    def points(self) -> int:  # what the whole exercise is worth: the build sums the behaviours' points
        return sum(b.points for b in self.behaviours)

    def behaviour(self, name: str) -> Behaviour:
        for b in self.behaviours:
            if b.name == name:
                return b
        raise ValueError(f"{self._ref} has no behaviour {name!r}; it has {[b.name for b in self.behaviours]}")

    def results(self, answer: Any, hidden: bool = False) -> list[tuple[Behaviour, str | None]]:
        """Each behaviour with None if it passed, else what went wrong."""
        found = []
        for b in self.behaviours:
            try:
                b.check(answer, hidden)
            except Incorrect as wrong:
                found.append((b, str(wrong)))
            except Exception as error:  # noqa: BLE001 - the learner's code broke: that is feedback too
                found.append((b, f"your code raised {type(error).__name__}: {error}"))
            else:
                found.append((b, None))
        return found

    def table(self, results: list[tuple[Behaviour, str | None]]) -> str:
        """The per-behaviour table the learner reads."""
        width = max(len(b.title) for b, _ in results)
        lines = []
        for b, wrong in results:
            mark, got = ("✔", b.points) if wrong is None else ("✘", 0)
            line = f"  {mark} {b.title:<{width}}  {got}/{b.points}"
            lines.append(line + (f"  {wrong}" if wrong else ""))
        return "\n".join(lines)

    def _judge(self, answer: Any, behaviour: str | None, hidden: bool) -> str:
        if behaviour is not None:
            b = self.behaviour(behaviour)
            b.check(answer, hidden)  # raises Incorrect with the reason
            return f"{b.title} ({b.points}/{b.points})"
        results = self.results(answer, hidden)
        score = sum(b.points for b, wrong in results if wrong is None)
        summary = f"{score}/{self.points} points\n{self.table(results)}"
        if score < self.points:
            raise Incorrect(summary)
        return summary

    def _check(self, answer: Any, behaviour: str | None = None) -> str:
        return self._judge(answer, behaviour, hidden=False)

    def _check_hidden(self, answer: Any, behaviour: str | None = None) -> str:
        return self._judge(answer, behaviour, hidden=True)

    def points_table(self) -> None:
        """Print what is graded and how many points each behaviour is worth."""
        width = max(len(b.title) for b in self.behaviours)
        for b in self.behaviours:
            print(f"  {b.title:<{width}}  {b.points} point{'s' if b.points != 1 else ''}")
        print(f"  {'total':<{width}}  {self.points} points")
