"""tools/build_classroom.py turns whatever lessons exist into nbgrader source notebooks, from the lessons alone."""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest

from classroom_tools import build_classroom
from notebook_tools import NOTEBOOKS, answer_cells

LESSONS_WITH_EXERCISES = [p for p in NOTEBOOKS if answer_cells(nbformat.read(p, as_version=4))]
# Lessons whose exercises are graded per behaviour (the capstone) get one test cell per behaviour instead:
# tests/test_classroom_capstone.py checks those.
GRADED_PER_CHECK = [p for p in LESSONS_WITH_EXERCISES if not any(
    getattr(e, "behaviours", ()) for e in build_classroom.exercises_of(nbformat.read(p, as_version=4)).values())]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    out = tmp_path_factory.mktemp("classroom")
    return out, build_classroom.build(out)


def test_every_lesson_with_exercises_becomes_an_assignment_and_nothing_else(course):
    out, built = course
    assert LESSONS_WITH_EXERCISES, "no lesson has exercises: the build has nothing to prove"
    assert sorted(built) == [p.stem for p in LESSONS_WITH_EXERCISES]
    assert sorted(p.name for p in (out / "source").iterdir()) == sorted(built)
    assert (out / "nbgrader_config.py").exists() and (out / "course_grading_config.py").exists()


@pytest.mark.parametrize("lesson", GRADED_PER_CHECK, ids=[p.stem for p in GRADED_PER_CHECK])
def test_each_answer_cell_holds_the_reference_solution_and_is_followed_by_its_graded_check(course, lesson):
    out, built = course
    original = nbformat.read(lesson, as_version=4)
    graded = nbformat.read(out / "source" / lesson.stem / lesson.name, as_version=4)
    exercises = build_classroom.exercises_of(original)
    answers = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("solution")]
    tests = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(answers) == len(tests) == len(answer_cells(original))

    for lesson_cell, answer, test in zip(answer_cells(original), answers, tests):
        parts = build_classroom.split_answer(lesson_cell.source)
        exercise = exercises[parts.name]
        solution = exercise.solution_source()
        assert answer.source == (f"{parts.template}\n" if parts.template else "") + (
            f"### BEGIN SOLUTION\n{solution}\n### END SOLUTION")  # no check line: the graded cell checks, once
        assert graded.cells[graded.cells.index(answer) + 1] is test  # the check right after its answer
        meta = test.metadata.nbgrader
        assert (meta.locked, meta.solution, meta.points, meta.grade_id) == (
            True, False, exercise.points, f"{parts.name}-check")
        assert parts.check.replace(".check(", ".assert_correct(") in test.source
        assert ("### BEGIN HIDDEN TESTS" in test.source) == exercise.has_hidden_cases

    assert built[lesson.stem] == sum(t.metadata.nbgrader.points for t in tests)
    ids = [c.metadata.nbgrader.grade_id for c in graded.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))
    assert all(not c.get("outputs") for c in graded.cells if c.cell_type == "code")
    # Apart from the added cells, the lesson is unchanged.
    kept = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("solution") or "nbgrader" not in c.metadata]
    assert [c.source for c in kept if "nbgrader" not in c.metadata] == [
        c.source for c in original.cells if not ("exercise" in c.metadata.get("tags", []))]


def test_hidden_cases_of_notebook_01_land_in_the_hidden_region(course):
    out, _ = course
    (path,) = (out / "source").glob("01-*/01-*.ipynb")
    test = next(c for c in nbformat.read(path, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "q1-check")
    assert test.source.splitlines()[1:] == [
        "from coursekit.exercises.ex01 import q1",
        "q1.assert_correct(cookie_flags, set_cookie)",
        "### BEGIN HIDDEN TESTS",
        "q1.assert_correct_hidden(cookie_flags, set_cookie)",
        "### END HIDDEN TESTS",
    ]


def test_a_new_lesson_is_picked_up_without_being_listed_and_a_lesson_without_exercises_is_not(tmp_path):
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    shutil.copy(LESSONS_WITH_EXERCISES[0], lessons / "42-a-new-lesson.ipynb")
    plain = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Reading only")])
    nbformat.write(plain, lessons / "43-reading-only.ipynb")
    assert list(build_classroom.build(tmp_path / "out", lessons)) == ["42-a-new-lesson"]


def test_rebuilding_keeps_the_gradebook_submissions_and_the_instructors_config(tmp_path):
    out = tmp_path / "out"
    (out / "submitted" / "ada").mkdir(parents=True)
    build_classroom.build(out)
    mine = (out / "nbgrader_config.py").read_text() + "c.CourseDirectory.course_id = 'jwt-2027'\n"
    secret = (out / "grading_secret").read_text()
    assert len(secret.strip()) == 64 and (out / "grading_secret").stat().st_mode & 0o777 == 0o600
    (out / "nbgrader_config.py").write_text(mine)
    (out / "gradebook.db").write_text("kept")
    (out / "source" / LESSONS_WITH_EXERCISES[0].stem).mkdir(parents=True, exist_ok=True)
    (out / "source" / LESSONS_WITH_EXERCISES[0].stem / "stale.ipynb").write_text("{}")
    build_classroom.build(out)
    assert (out / "gradebook.db").read_text() == "kept" and (out / "submitted" / "ada").is_dir()
    assert (out / "nbgrader_config.py").read_text() == mine
    assert (out / "grading_secret").read_text() == secret, "the course's secret is made once"
    assert not (out / "source" / LESSONS_WITH_EXERCISES[0].stem / "stale.ipynb").exists()


@pytest.mark.parametrize("source", ["x = ____\nprint(x)", "x = ____\nq1.hint()", "q1.check(x)\nx = 1"])
def test_an_answer_cell_without_a_final_check_is_refused(source):
    with pytest.raises(ValueError, match=re.escape("must end with a qN.check(...) line")):
        build_classroom.split_answer(source)


def test_an_exercise_checked_in_two_answer_cells_is_refused():
    nb = nbformat.read(LESSONS_WITH_EXERCISES[0], as_version=4)
    first = answer_cells(nb)[0]
    nb.cells.append(nbformat.from_dict(first))
    with pytest.raises(ValueError, match="is checked in two answer cells"):
        build_classroom.graded_notebook(nb, "00-doubled")


def test_a_check_spanning_lines_is_kept_whole():
    parts = build_classroom.split_answer("r = ____\nq2.check(lab,\n         r)")
    assert (parts.name, parts.template, parts.check) == ("q2", "r = ____", "q2.check(lab,\n         r)")


def test_hidden_cases_drawn_from_the_course_secret_differ_from_the_public_ones_and_the_secret_leaves_the_environment():
    import subprocess
    import sys

    script = ("import os; from coursekit.kit.grading.secret_cases import ENV, drawn; "
              "print(drawn('ex01.q1').random(), ENV in os.environ)")

    def run(env: dict) -> str:
        return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                              check=True).stdout
    import os

    public = run({k: v for k, v in os.environ.items() if k != "JWT_COURSE_GRADING_SECRET"})
    assert public == run(dict(os.environ, JWT_COURSE_GRADING_SECRET="")), "without a secret: the same every run"
    secret_a = run(dict(os.environ, JWT_COURSE_GRADING_SECRET="a" * 64))
    assert secret_a == run(dict(os.environ, JWT_COURSE_GRADING_SECRET="a" * 64))
    assert secret_a != public and secret_a != run(dict(os.environ, JWT_COURSE_GRADING_SECRET="b" * 64))
    assert public.endswith(" False\n") and secret_a.endswith(" False\n")
