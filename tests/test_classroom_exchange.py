"""The exchange path of the guide, end to end, as one Unix user: release → fetch → answer → submit → collect →
autograde → generate_feedback → release_feedback → fetch_feedback (the learner reads their verdict).

Lesson 01 up to its first exercise, so that grading is quick; JupyterHub with two accounts is
tests/test_classroom_hub.py. About 15 s on a 2-core machine.
"""

from __future__ import annotations

import getpass

import nbformat

from classroom_tools import build_classroom
from notebook_tools import ROOT
from test_classroom_roundtrip import LESSON, _answered, _solution, nbgrader


def test_an_assignment_goes_out_through_the_exchange_and_its_feedback_comes_back(tmp_path):
    from coursekit.exercises import ex01

    lesson = nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    first = next(i for i, c in enumerate(lesson.cells) if "exercise" in c.metadata.get("tags", []))
    lesson.cells = lesson.cells[:first + 1]
    (tmp_path / "lessons").mkdir()
    nbformat.write(lesson, tmp_path / "lessons" / f"{LESSON}.ipynb")
    course, learner, exchange = tmp_path / "course", tmp_path / "learner", tmp_path / "exchange"
    build_classroom.build(course, tmp_path / "lessons")
    for folder in (learner, exchange):
        folder.mkdir()
    at = f"--Exchange.root={exchange}"
    me = getpass.getuser()

    nbgrader(course, "db", "student", "add", me)
    nbgrader(course, "generate_assignment", "--force", LESSON)
    nbgrader(course, "release_assignment", LESSON, at)
    nbgrader(learner, "fetch_assignment", LESSON, "--course", "jwt-course", at)
    fetched = learner / LESSON / f"{LESSON}.ipynb"
    nbformat.write(_answered(fetched, {"q1-answer": _solution(ex01.q1)}), fetched)
    nbgrader(learner, "submit", LESSON, "--course", "jwt-course", at)
    nbgrader(course, "collect", LESSON, at)
    nbgrader(course, "autograde", LESSON)
    nbgrader(course, "generate_feedback", LESSON)
    nbgrader(course, "release_feedback", LESSON, at)
    nbgrader(learner, "fetch_feedback", LESSON, "--course", "jwt-course", at)

    (page,) = (learner / LESSON / "feedback").rglob(f"{LESSON}.html")
    text = page.read_text()
    assert "Score: 1.0 / 1.0" in text and "q1: ✔ Correct" in text
