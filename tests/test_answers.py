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


DRAW = ("from coursekit.answers import ex09; "
        "print(ex09.client_hidden_cases(), ex09._other_casings('none', 3, 'ex09.q2.alg-none'))")


def _draw(secret: str | None) -> str:
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "JWT_COURSE_GRADING_SECRET"}
    if secret is not None:
        env["JWT_COURSE_GRADING_SECRET"] = secret
    return subprocess.run([sys.executable, "-c", DRAW], env=env, capture_output=True, text=True, check=True,
                          timeout=60).stdout


def test_the_capstones_hidden_cases_are_drawn_from_the_course_secret_so_the_public_ones_are_not_the_graded_ones():
    public = _draw(None)
    assert public == _draw(None)  # self-study and the test suite: the same cases every run
    graded = {_draw(secret) for secret in ("class-a", "class-b", "class-c")}
    assert public not in graded and len(graded) == 3
    for secret in ("class-a", "class-b", "class-c"):
        assert _draw(secret) == _draw(secret)  # one class's cases are fixed for all its submissions


def test_the_drawn_client_cases_stay_within_what_the_lab_budget_allows():
    from coursekit.answers import ex09
    from coursekit.kit.grading import secret_cases

    for n in range(200):
        secret_cases._secret = f"class-{n}"
        try:
            case = ex09.client_hidden_cases()
        finally:
            secret_cases._secret = ""
        assert case["user"] in ("bob", "admin") and 2 <= case["calls"] <= 4
        assert 5 <= case["expiries"] <= 9 and 3 <= case["callers"] <= 5
