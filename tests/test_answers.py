"""Reference solutions live apart from the checks, one module per lesson, so a classroom build can leave them out."""

import importlib
import pkgutil
import sys

import pytest

import coursekit.answers
from coursekit.exercises import course_exercises
from coursekit.kit.exercise import Exercise

LESSONS = sorted(m.name for m in pkgutil.iter_modules(coursekit.answers.__path__))


def test_every_exercise_of_the_course_has_its_reference_solution():
    for exercise in course_exercises():
        assert exercise.solution_source().strip(), exercise


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_solution_belongs_to_an_exercise_of_its_lesson(lesson):
    classes = {type(e).__name__ for e in course_exercises() if e.lesson == lesson}
    assert set(importlib.import_module(f"coursekit.answers.{lesson}").SOLUTIONS) == classes


def test_no_check_module_holds_a_solution():
    for exercise in course_exercises():
        assert "_solution" not in vars(type(exercise)), type(exercise)


def test_without_the_answers_the_checks_still_load_and_say_there_is_no_solution(monkeypatch, capsys):
    # What a classroom build without coursekit/answers/ gives a student: checks work, solutions are absent.
    for name in [name for name in sys.modules if name.startswith("coursekit.answers")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "coursekit.answers", None)  # import fails as if the folder were gone
    from coursekit.exercises import ex03

    with pytest.raises(LookupError):
        ex03.q1.solution_source()
    ex03.q1.solution()
    assert capsys.readouterr().out == "No solution here: the solutions are not part of this copy of the course.\n"


def test_without_the_answers_a_hidden_case_fails_rather_than_passes(monkeypatch):
    from coursekit.exercises import ex09

    monkeypatch.setitem(sys.modules, "coursekit.answers", None)
    monkeypatch.setitem(sys.modules, "coursekit.answers.ex09", None)
    outcome = ex09.q2._evaluate(ex09.q2._check_hidden, (lambda *a: {},), {"behaviour": "typ"})
    assert outcome.status.name == "INCORRECT"
    assert "hidden cases are not part of this copy of the course" in outcome.message
    assert isinstance(ex09.q2, Exercise)
