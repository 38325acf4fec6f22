"""The capstone as an nbgrader assignment: one graded cell per behaviour, and a real round trip.

The build gives each behaviour of q1 (the client) and q2 (the verifier) a locked test cell with its points and
its hidden cases. Then real nbgrader hands the capstone out and grades three submissions in fresh kernels:
the reference solutions (full marks), an untouched copy (zero, no crash, no hang) and a half-done one (a
client without a lock, a verifier that skips aud: exactly those behaviours lost); ``nbgrader export`` writes
the table read back here. About 40-55 s on a 2-core machine; no process started while grading survives it.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest

from classroom_tools import build_classroom
from coursekit.exercises.ex09 import q1, q2
from notebook_tools import ROOT
from test_capstone import CLIENT_MISTAKES, VERIFIER_MISTAKES
from test_classroom_roundtrip import _cell_errors, _solution, grade_and_export, nbgrader

LESSON = next((ROOT / "notebooks").glob("09-*.ipynb")).stem
BEHAVIOUR_IDS = [f"{q.name}-{b.name}" for q in (q1, q2) for b in q.behaviours]


def _edited(exercise, edit) -> str:
    old, new = edit
    solution = _solution(exercise)
    assert old in solution
    return solution.replace(old, new)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    lessons = tmp_path_factory.mktemp("lessons")
    shutil.copy(ROOT / "notebooks" / f"{LESSON}.ipynb", lessons)
    out = tmp_path_factory.mktemp("classroom")
    assert build_classroom.build(out, lessons) == {LESSON: 21}
    nbgrader(out, "generate_assignment", "--force", LESSON)
    return out


def test_each_behaviour_is_a_graded_cell_with_its_points_and_hidden_cases(course):
    source = nbformat.read(course / "source" / LESSON / f"{LESSON}.ipynb", as_version=4)
    tests = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert [c.metadata.nbgrader.grade_id for c in tests] == BEHAVIOUR_IDS
    assert [c.metadata.nbgrader.points for c in tests] == [b.points for q in (q1, q2) for b in q.behaviours]
    assert all(c.metadata.nbgrader.locked for c in tests)
    race = next(c for c in tests if c.metadata.nbgrader.grade_id == "q1-race")
    assert race.source.splitlines() == [
        '"""q1, A client that keeps working: survives a refresh race (2 points)."""',
        'from coursekit.exercises.ex09 import q1',
        'q1.assert_correct(TokenClient, behaviour="race")',
        "### BEGIN HIDDEN TESTS",
        'q1.assert_correct_hidden(TokenClient, behaviour="race")',
        "### END HIDDEN TESTS",
    ]
    release = nbformat.read(course / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    text = "\n".join(c.source for c in release.cells)
    assert "assert_correct_hidden" not in text and "BEGIN SOLUTION" not in text
    assert "self.lock = threading.Lock()" not in text  # the reference client stays with the instructor


def test_autograde_gives_full_none_and_per_behaviour_partial_marks(course):
    submissions = {
        "full": {"q1-answer": _solution(q1), "q2-answer": _solution(q2)},
        "untouched": {},
        "half": {"q1-answer": _edited(q1, CLIENT_MISTAKES["spends the refresh token twice in a race"][0]),
                 "q2-answer": _edited(q2, VERIFIER_MISTAKES["skips aud"][0])},
    }
    scores, graded = grade_and_export(course, LESSON, submissions)
    assert scores == {"full": (21.0, 21.0), "untouched": (0.0, 21.0), "half": (18.0, 21.0)}

    assert _cell_errors(graded["full"]) == {}
    untouched = _cell_errors(graded["untouched"])
    assert sorted(untouched) == sorted(BEHAVIOUR_IDS)
    assert all(e.startswith("NotCorrect: q") and "Not answered yet" in e for e in untouched.values()), untouched
    half = _cell_errors(graded["half"])
    assert set(half) == {"q1-race", "q2-audience"}
    assert "spent the same refresh token twice" in half["q1-race"]
    assert "another audience" in half["q2-audience"]
