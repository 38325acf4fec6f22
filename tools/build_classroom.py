"""Build an nbgrader course folder from the lessons: ``make classroom``, or

    python tools/build_classroom.py                  # into build/classroom
    python tools/build_classroom.py OUT_DIR          # somewhere else

Every lesson with exercises (answer cells tagged ``exercise``) becomes an assignment named after the lesson,
``OUT_DIR/source/<lesson>/<lesson>.ipynb``: the lesson itself, outputs cleared, with

- each answer cell an nbgrader solution cell: the lesson's lines with their ``____`` blanks, then the
  exercise's reference solution (``solution_source()``, from ``coursekit.answers``) between ``### BEGIN SOLUTION`` and ``### END SOLUTION``,
  then the lesson's ``qN.check(...)`` line;
- after it, a locked, graded test cell worth the exercise's ``points``: the same check, as
  ``qN.assert_correct(...)`` (it raises unless the check says Correct), and, if the exercise has hidden
  cases, ``qN.assert_correct_hidden(...)`` between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``;
  an exercise graded per behaviour (the capstone's) gets one such cell per behaviour, with its points.

The lessons stay the only copy: the source folder is generated, never committed. Student versions come
from nbgrader itself (``nbgrader generate_assignment <lesson>``, which replaces each solution region with
a one-line stub, so learners start from the lesson's blanks), and so does all grading.
Rebuilding rewrites the source folders of the lessons and nbgrader_config.py, and nothing else: the
gradebook, releases and submissions in OUT_DIR are kept.
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursekit.kit.grading.secret_cases import new_secret

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "build" / "classroom"

# Rewritten by every build: how this course is graded. nbgrader_config.py (written once, then the instructor's)
# loads it first, so that a rebuild never overwrites the instructor's own settings.
BUILT_CONFIG = '''\
"""How this course folder is graded: written by tools/build_classroom.py at every build (edit nbgrader_config.py)."""
import os

from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                    SaveAutoGrades)
from nbconvert.preprocessors import ClearMetadataPreprocessor

from coursekit.kit.grading.nbgrader_step import GradeOutsideTheKernel

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "jwt-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# Learners start from the lesson's own blanks (they stay in the cell); the stub only marks the spot.
c.ClearSolutions.code_stub = {"python": "# (Fill in each ____ above; the graded cell below checks your answer.)"}

# The kit's graded cells are judged outside the learner's kernel, each in a sealed process of its own
# (coursekit/kit/grading/nbgrader_step.py): nbgrader's Execute is replaced, the rest of its autograde steps kept.
c.Autograde.autograde_preprocessors = [GradeOutsideTheKernel, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
# Seconds per graded cell (an exercise, or one behaviour of the capstone), from a fresh process to its verdict.
c.GradeOutsideTheKernel.graded_cell_timeout = 60
# The course's secret (made once by the build, readable by you alone), for hidden cases drawn from it.
c.GradeOutsideTheKernel.secret_file = os.path.join(c.CourseDirectory.root, "grading_secret")
# Seconds per cell of the learner's notebook when it is run for the feedback's outputs.
c.Execute.timeout = 60
c.GradeOutsideTheKernel.timeout = 60

# Grading writes no progress file (~/.jwt-course), neither in the kernel nor in the graders.
os.environ["JWT_COURSE_PROGRESS"] = "off"

# zip_collect: files downloaded from a learning platform go in downloaded/<lesson>/archive/ (zip files or
# notebooks), each notebook named <student id>_<lesson>.ipynb, optionally under folders.
c.ZipCollectApp.archive_directory = "archive"
c.FileNameCollectorPlugin.named_regexp = r"(?:.*/)?(?P<student_id>[^/_]+)_(?P<file_id>[0-9]{2}-[^/]+\\.ipynb)$"
'''

CONFIG = '''\
"""nbgrader configuration of this course folder: yours to edit; tools/build_classroom.py writes it only once."""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

# How the course is graded; rewritten by every build. Your settings go below it and win.
load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)), "course_grading_config.py"))  # noqa: F821

# c.GradeOutsideTheKernel.graded_cell_timeout = 60
'''


def _nbgrader(**fields) -> dict:
    return {"schema_version": 3, "task": False, **fields}


@dataclass
class Answer:
    """One answer cell of a lesson, split where the build needs it."""

    name: str       # the exercise's notebook variable, q1
    template: str   # the lines the learner completes, with ____
    check: str      # the qN.check(...) statement


def split_answer(source: str) -> Answer:
    """Split an answer cell into its lines with blanks and its last statement, ``qN.check(...)``."""
    last = ast.parse(source).body[-1]
    call = getattr(last, "value", None)
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "check"
            and isinstance(call.func.value, ast.Name)):
        raise ValueError(f"an answer cell must end with a qN.check(...) line:\n{source}")
    lines = source.splitlines()
    return Answer(name=call.func.value.id, template="\n".join(lines[:last.lineno - 1]).rstrip("\n"),
                  check="\n".join(lines[last.lineno - 1:last.end_lineno]))


def exercise_imports(nb) -> dict[str, str]:
    """Where a lesson's exercises come from, by name: ``from coursekit.exercises.ex01 import q1, q2`` gives
    ``{"q1": "coursekit.exercises.ex01", "q2": ...}``."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics; exercises are imported in plain Python
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("coursekit."):
                for alias in node.names:
                    found[alias.asname or alias.name] = node.module
    return found


def exercises_of(nb) -> dict:
    """The exercises a lesson imports, by name: ``from coursekit.exercises.ex01 import q1, q2`` gives q1 and q2."""
    return {name: getattr(importlib.import_module(module), name)
            for name, module in exercise_imports(nb).items()}


def is_answer_cell(cell) -> bool:
    return cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", [])


def graded_notebook(nb, lesson: str):
    """The nbgrader source version of a lesson notebook (a new notebook; ``nb`` is not changed)."""
    nb = nbformat.from_dict(nb)  # a deep copy
    exercises, modules = exercises_of(nb), exercise_imports(nb)
    cells, total = [], 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        if not is_answer_cell(cell):
            continue
        answer = split_answer(cell.source)
        if f"{answer.name}-answer" in {c.metadata.get("nbgrader", {}).get("grade_id") for c in cells}:
            raise ValueError(f"{lesson}: {answer.name} is checked in two answer cells; nbgrader grades each once")
        exercise = exercises.get(answer.name)
        if exercise is None:
            raise ValueError(f"{lesson}: {answer.name} is checked but not imported from coursekit")
        solution = exercise.solution_source()
        # No check line in the answer: the graded cell below runs it (once), and nothing writes progress.
        cell.source = "\n".join(part for part in (
            answer.template, "### BEGIN SOLUTION", solution, "### END SOLUTION") if part)
        cell.metadata["nbgrader"] = _nbgrader(grade=False, solution=True, locked=False,
                                              grade_id=f"{answer.name}-answer")
        cells.extend(test_cells(answer, exercise, modules[answer.name]))
        total += exercise.points
    if total:
        per_behaviour = any(getattr(e, "behaviours", ()) for e in exercises.values())
        cells.insert(1, intro_cell(lesson, total, per_behaviour))
    nb.cells = cells
    return nb, total


def _checks(answer: Answer, module: str, title: str, points: int, call: str, hidden: bool) -> list[str]:
    """A graded cell's lines: what it grades, where the exercise comes from, the check, the hidden cases."""
    lines = [f'"""{answer.name}, {title} ({points} point{"s" if points != 1 else ""})."""',
             f"from {module} import {answer.name}",
             call.replace(f"{answer.name}.check(", f"{answer.name}.assert_correct(", 1)]
    if hidden:
        lines += ["### BEGIN HIDDEN TESTS",
                  call.replace(f"{answer.name}.check(", f"{answer.name}.assert_correct_hidden(", 1),
                  "### END HIDDEN TESTS"]
    return lines


def test_cells(answer: Answer, exercise, module: str) -> list:
    """The graded test cells after an answer: one for the check, or one per behaviour for an exercise graded
    per behaviour (``coursekit.kit.behaviours``): ``qN.assert_correct(answer, behaviour="race")``, with its points.
    Each names the module its exercise comes from: the grader judges with its own copy of the exercise."""
    behaviours = getattr(exercise, "behaviours", ())
    if not behaviours:
        return [test_cell(answer, exercise, module)]
    if not answer.check.rstrip().endswith(")"):
        raise ValueError(f"{answer.name}: a check graded per behaviour must be one call, qN.check(...)")
    cells = []
    for b in behaviours:
        call = answer.check.rstrip()[:-1] + f', behaviour="{b.name}")'
        cell = nbformat.v4.new_code_cell("\n".join(
            _checks(answer, module, f"{exercise.title}: {b.title}", b.points, call, hidden=True)))
        cell.metadata["nbgrader"] = _nbgrader(grade=True, solution=False, locked=True, points=b.points,
                                              grade_id=f"{answer.name}-{b.name}")
        cells.append(cell)
    return cells


def test_cell(answer: Answer, exercise, module: str) -> nbformat.NotebookNode:
    """The graded test cell after an answer: the lesson's check, made to raise unless it says Correct."""
    cell = nbformat.v4.new_code_cell("\n".join(_checks(
        answer, module, f"{exercise.title}: the lesson's check must say Correct", exercise.points, answer.check,
        hidden=exercise.has_hidden_cases)))
    cell.metadata["nbgrader"] = _nbgrader(grade=True, solution=False, locked=True, points=exercise.points,
                                          grade_id=f"{answer.name}-check")
    return cell


def intro_cell(lesson: str, total: int, per_behaviour: bool = False) -> nbformat.NotebookNode:
    below = ("Below each answer cell, locked test cells check one behaviour each, for that behaviour's points; "
             "they also try cases the notebook does not show. " if per_behaviour else
             "Below each answer cell, a locked test cell runs the same check and is worth its points; some also "
             "try cases the lesson does not show. ")
    cell = nbformat.v4.new_markdown_cell(
        f"**Graded assignment** ({total} point{'s' if total != 1 else ''}). This is the lesson `{lesson}`, "
        "handed out with nbgrader. Fill in the `____` in each exercise's answer cell, as in the lesson. "
        + below + "Before you submit, restart the kernel and run all cells: "
        "grading runs your notebook top to bottom in a fresh kernel, lab servers included.")
    cell.metadata["nbgrader"] = _nbgrader(grade=False, solution=False, locked=True, grade_id="assignment-intro")
    return cell


def build(out: Path, lessons: Path = LESSONS) -> dict[str, int]:
    """Write the course folder; return each assignment's total points."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "course_grading_config.py").write_text(BUILT_CONFIG)
    secret = out / "grading_secret"
    if not secret.exists():  # hidden cases may be drawn from it (coursekit.kit.grading.secret_cases): never handed out
        descriptor = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(new_secret() + "\n")
    config = out / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG)
    elif "course_grading_config.py" not in config.read_text():
        print(f"warning: {config} does not load course_grading_config.py: grading would run in the learner's "
              "kernel; add the load_subconfig line from tools/build_classroom.py's CONFIG", file=sys.stderr)
    built = {}
    for path in sorted(lessons.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if not any(is_answer_cell(cell) for cell in nb.cells):
            continue
        graded, total = graded_notebook(nb, path.stem)
        folder = out / "source" / path.stem
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        nbformat.write(graded, folder / path.name)
        built[path.stem] = total
    return built


def main(args: list[str]) -> None:
    out = Path(args[0]) if args else DEFAULT_OUT
    for lesson, total in build(out).items():
        print(f"{lesson}: {total} point{'s' if total != 1 else ''}")
    print(f"course folder: {out}  (next: cd there, then nbgrader generate_assignment <lesson>)")


if __name__ == "__main__":
    main(sys.argv[1:])
