"""Cheats a grader meets, each a submission graded by real nbgrader: none may earn a point.

The assignment is lesson 01 up to its first exercise (q1, 1 point), so that each submission is quick to
grade. Every cheat is added to q1's answer cell, whose blanks stay unanswered. Each must score 0; a cheat
that changes or reaches into the grader is also flagged in the graded cell's output, which the feedback and
the formgrader show. A submission with the right answer scores 1, so the assignment can be passed. The
graded cells are judged outside the learner's kernel, in sealed processes (coursekit/kit/grading/seal.py,
coursekit/kit/grading/sealed_run.py). About 30 s on a 2-core machine.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from classroom_tools import build_classroom
from notebook_tools import ROOT
from test_classroom_roundtrip import LESSON, _cell_errors, _solution, grade_and_export, nbgrader

CHEATS = {
    # The three seen in class: the kit's assertion, its evaluation (printing a genuine-looking ✔), the exercises.
    "assert": "from coursekit.kit.exercise import Exercise\nExercise._assert = lambda self, outcome: None",
    "evaluate": ("from coursekit.kit.exercise import Exercise, Outcome, Status\n"
                 "def _evaluate(self, check, answer, kw):\n    print('✔ Correct')\n    return Outcome(Status.CORRECT)\n"
                 "Exercise._evaluate = _evaluate"),
    "rebind": ("class AlwaysPasses:\n    def check(self, *a, **k):\n        print('✔ Correct')\n"
               "    assert_correct = assert_correct_hidden = check\nq1 = q2 = q3 = q4 = AlwaysPasses()"),
    # The obvious next ones.
    "builtins": "import builtins\nbuiltins.isinstance = lambda *a: True",
    "kit-globals": ("import coursekit.kit.exercise as kit\nkit.is_blank = lambda *a, **k: False\n"
                    "kit.Incorrect = type('Never', (Exception,), {})"),
    "sys-modules": ("import sys, types\nfake = types.ModuleType('coursekit.exercises.ex01')\n"
                    "class Q:\n    def assert_correct(self, *a, **k): pass\n    assert_correct_hidden = assert_correct\n"
                    "fake.q1 = fake.q2 = fake.q3 = Q()\nsys.modules['coursekit.exercises.ex01'] = fake"),
    "exercise-attributes": ("from coursekit.exercises.ex01 import q1, q2, q3\nfor q in (q1, q2, q3):\n"
                            "    q._check = q._check_hidden = lambda *a, **k: 'fine'"),
    "fake-report": ("import os\nfor fd in range(3, 20):\n    try:\n"
                    "        os.write(fd, b'x {\"cell\": 0, \"verdicts\": [[\"CORRECT\", \"\", false]], \"tampered\": []}\\n')\n"
                    "    except OSError:\n        pass\nprint('✔ Correct')\nos._exit(0)"),
    # The grading account's files: the course folder (nbgrader's current folder) holds the course's secret, the
    # other learners' submissions and the gradebook; the grader's home its configuration.
    "course-secret": ("import os\nroot = os.path.realpath(f'/proc/{os.getppid()}/cwd')\n"
                      "print('secret:', open(os.path.join(root, 'grading_secret')).read())"),
    "gradebook": ("import os, sqlite3\nroot = os.path.realpath(f'/proc/{os.getppid()}/cwd')\n"
                  "db = sqlite3.connect(os.path.join(root, 'gradebook.db'))\n"
                  "db.execute('update grade set manual_score = 1')\ndb.commit()"),
    "classmate": ("import os, glob\nroot = os.path.realpath(f'/proc/{os.getppid()}/cwd')\n"
                  "print(os.listdir(os.path.join(root, 'submitted')))"),
    "grader-home": ("import os, pwd\nhome = pwd.getpwuid(os.getuid()).pw_dir\n"
                    "open(os.path.join(home, '.jwt-course-cheat'), 'w').write('c.Autograde.x = 1')"),
}
FLAGGED = set(CHEATS) - {"rebind"}  # rebinding q1 in the notebook changes nothing the grader reads


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    lesson = nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    first = next(i for i, c in enumerate(lesson.cells) if "exercise" in c.metadata.get("tags", []))
    lesson.cells = lesson.cells[:first + 1]
    lessons = tmp_path_factory.mktemp("lessons")
    nbformat.write(lesson, lessons / f"{LESSON}.ipynb")
    out = tmp_path_factory.mktemp("classroom")
    assert build_classroom.build(out, lessons) == {LESSON: 1}
    nbgrader(out, "generate_assignment", "--force", LESSON)
    return out


def test_no_cheat_earns_a_point_and_each_that_touches_the_grader_is_flagged(course):
    from coursekit.exercises import ex01

    submissions = {name: {"+q1-answer": code} for name, code in CHEATS.items()}
    scores, graded = grade_and_export(course, LESSON, {**submissions, "honest": {"q1-answer": _solution(ex01.q1)}})
    assert scores == {**{name: (0.0, 1.0) for name in CHEATS}, "honest": (1.0, 1.0)}
    for name in CHEATS:
        errors = _cell_errors(graded[name])
        assert set(errors) == {"q1-check"}, (name, errors)
        for error in errors.values():
            if name in FLAGGED:
                assert error.startswith("GradingFlag: q"), (name, error)
            else:
                assert "Not answered yet" in error, (name, error)
    assert "Exercise._assert changed" in _cell_errors(graded["assert"])["q1-check"]
    assert "Exercise._evaluate changed" in _cell_errors(graded["evaluate"])["q1-check"]
    assert "sys.modules['coursekit.exercises.ex01'] replaced" in _cell_errors(graded["sys-modules"])["q1-check"]
    assert "coursekit.kit.exercise.is_blank changed" in _cell_errors(graded["kit-globals"])["q1-check"]
    for name in ("course-secret", "gradebook", "classmate", "grader-home"):
        assert "are out of bounds" in _cell_errors(graded[name])["q1-check"], name
    # Nothing of the course folder reached a learner, and the gradebook kept its points (the export above).
    secret = (course / "grading_secret").read_text().strip()
    for name in CHEATS:
        assert secret not in nbformat.writes(graded[name]), name
    assert not list(Path.home().glob(".jwt-course-cheat"))
