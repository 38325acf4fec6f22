"""Real nbgrader, headless, on assignments built from the lessons: hand out, grade, export.

Every lesson goes through ``nbgrader generate_assignment`` (student versions without solutions or hidden
tests). One lesson, 01, goes the whole way: three submissions (the reference solutions, an untouched copy,
a half-done one) are autograded in fresh kernels that start their own lab servers, and ``nbgrader export``
writes the grade table this test reads. No process started while grading may outlive it.
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from classroom_tools import build_classroom
from notebook_tools import ROOT

NBGRADER = [sys.executable, "-m", "nbgrader"]
LESSON = next((ROOT / "notebooks").glob("01-*.ipynb")).stem
TAG = "JWT_COURSE_TEST_RUN"  # marks every process started while grading: sealed processes and lab servers alike
CAN_SCAN = Path("/proc/self/environ").exists()  # Linux: a process's environment is readable in /proc


def nbgrader(course: Path, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([*NBGRADER, *args], cwd=course, env=env or _env(course), timeout=timeout,
                            capture_output=True, text=True)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def _env(course: Path) -> dict:
    # nbgrader runs the `alembic` command of its own environment, found on PATH (as in an activated venv).
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    # No instructor's or learner's own Jupyter configuration: only the course folder's nbgrader_config.py.
    return {**os.environ, "PATH": path, "JUPYTER_CONFIG_DIR": str(course / ".jupyter-config")}


def _processes_tagged(run: str) -> dict[int, str]:
    """The live processes (pid → command line) whose environment carries TAG=run."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"{TAG}={run}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
                found[int(proc.name)] = command.decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def _answer_cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata.nbgrader.grade_id: c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def _answered(release: Path, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The student version with some answer cells replaced by code; ``"+q1-answer"`` adds code after the blanks."""
    nb = nbformat.read(release, as_version=4)
    cells = _answer_cells(nb)
    for grade_id, code in answers.items():
        if grade_id.startswith("+"):
            cells[grade_id[1:]].source += f"\n{code}"
        else:
            cells[grade_id].source = code
    return nb


def _solution(exercise) -> str:
    return exercise.solution_source()


def _cell_errors(nb) -> dict[str, str]:
    """grade_id → the error a graded cell raised, for the autograded notebook."""
    errors = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                errors[grade_id] = f"{out.ename}: {out.evalue}"
    return errors


def _check_line_output(nb, grade_id: str) -> str:
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.outputs)


@pytest.mark.skipif(not CAN_SCAN, reason="reads processes' environments from /proc (Linux)")

def grade_and_export(course: Path, lesson: str, submissions: dict[str, dict[str, str]], timeout: float = 400,
                     zipped: tuple[str, ...] = (), home: Path | None = None):
    """Submit each student's answers, autograde them with real nbgrader, export; return scores and graded notebooks.

    The ``zipped`` students' notebooks arrive as a platform's download would: ``<student>_<lesson>.ipynb`` in
    a zip file in ``downloaded/<lesson>/archive/``, filed by ``nbgrader zip_collect`` as the guide says.
    While grading, the lab servers the notebooks start must be seen; 5 s after it, none may be left.
    """
    release = course / "release" / lesson / f"{lesson}.ipynb"
    archive = course / "downloaded" / lesson / "archive"
    for student, answers in submissions.items():
        if student in zipped:
            archive.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(archive / f"{student}.zip", "w") as packed:
                packed.writestr(f"{student}_{lesson}.ipynb", nbformat.writes(_answered(release, answers)))
            continue
        folder = course / "submitted" / student / lesson
        folder.mkdir(parents=True)
        nbformat.write(_answered(release, answers), folder / f"{lesson}.ipynb")
    if zipped:
        nbgrader(course, "zip_collect", lesson)

    run = secrets.token_hex(8)
    # Lab servers are forked from a fork server shared by the user's programs, and /proc shows them with the
    # environment of the program that started it: this run gets a fork server of its own (its own runtime
    # folder), started by a tagged grading process and gone with it (no idle period), so it is seen too.
    runtime = tempfile.mkdtemp(prefix="fs-")
    env = {**_env(course), TAG: run, "XDG_RUNTIME_DIR": runtime, "LABSERVER_FORKSERVER_IDLE": "0",
           **({"HOME": str(home)} if home else {})}
    env.pop("JWT_COURSE_PROGRESS", None)  # the test suite turns progress off; grading must do it itself
    started = time.monotonic()
    grading = subprocess.Popen([*NBGRADER, "autograde", lesson], cwd=course, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: dict[int, str] = {}
    try:
        while grading.poll() is None and time.monotonic() - started < timeout:
            seen.update(_processes_tagged(run))
            time.sleep(0.2)
    finally:
        if grading.poll() is None:
            grading.kill()
    log = grading.stdout.read()
    assert grading.returncode == 0, log[-3000:]
    if CAN_SCAN:
        assert any("labserver" in cmd for cmd in seen.values()), f"no lab server seen while grading: {seen}"
    deadline = time.monotonic() + 5  # a lab server exits within about a second of its kernel
    while _processes_tagged(run) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_tagged(run) == {}, "processes started while grading are still running"
    shutil.rmtree(runtime, ignore_errors=True)

    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv", newline="") as table:
        rows = {row["student_id"]: row for row in csv.DictReader(table) if row["assignment"] == lesson}
    scores = {student: (float(row["score"]), float(row["max_score"])) for student, row in rows.items()}
    grade_and_export.rows = rows  # for a test that reads more than the scores
    graded = {s: nbformat.read(course / "autograded" / s / lesson / f"{lesson}.ipynb", as_version=4)
              for s in submissions}
    return scores, graded


def test_the_leftover_scan_sees_a_tagged_process():
    run = secrets.token_hex(8)
    sleeper = subprocess.Popen(["sleep", "30"], env={**os.environ, TAG: run})
    try:
        # Popen returns once exec has begun; the kernel fills in the new program's environment a moment
        # later (until then /proc shows it empty), so the scan is given a few seconds to see it.
        deadline = time.monotonic() + 5
        while not (seen := _processes_tagged(run)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(seen) == [sleeper.pid], (seen, sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert _processes_tagged(run) == {}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    out = tmp_path_factory.mktemp("classroom")
    build_classroom.build(out)
    nbgrader(out, "generate_assignment", "--force", "*")
    return out


def test_every_lesson_hands_out_a_student_version_without_solutions_or_hidden_tests(course):
    built = sorted(p.name for p in (course / "source").iterdir())
    assert sorted(p.name for p in (course / "release").iterdir()) == built
    assert not list((course / "release").rglob("grading_secret")), "the course's secret is never handed out"
    for lesson in built:
        source = nbformat.read(course / "source" / lesson / f"{lesson}.ipynb", as_version=4)
        release = nbformat.read(course / "release" / lesson / f"{lesson}.ipynb", as_version=4)
        exercises = build_classroom.exercises_of(source)
        for grade_id, cell in _answer_cells(release).items():
            name = grade_id.removesuffix("-answer")
            template = _answer_cells(source)[grade_id].source.split("### BEGIN SOLUTION")[0]
            assert cell.source.startswith(template), "the learner starts from the lesson's blanks"
            assert "# (Fill in each ____ above; the graded cell below checks your answer.)" in cell.source
            assert ".check(" not in cell.source, "graded once, by the graded cell: no check line in the answer"
            # Nothing of the reference solution that the blanks do not already show.
            for line in _solution(exercises[name]).splitlines():
                assert line.strip() in template or line not in cell.source, (lesson, name, line)
        text = "\n".join(c.source for c in release.cells)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "assert_correct_hidden" not in text
        assert "q1.assert_correct(" in text
        assert ".solution()" not in "\n".join(c.source for c in release.cells if c.cell_type == "code")


def test_autograde_gives_full_none_and_partial_marks_and_export_writes_them(course, tmp_path):
    from coursekit.exercises import ex01  # the lesson's exercises: q1 cookie flags, q2 session row, q3 dead cookie

    naive_q1 = _solution(ex01.q1).replace('split(";")[1:]', 'split("; ")[1:]')
    assert naive_q1 != _solution(ex01.q1)
    submissions = {
        "full": {f"q{n}-answer": _solution(q) for n, q in enumerate((ex01.q1, ex01.q2, ex01.q3), start=1)},
        "untouched": {},
        # q1 passes the lesson's check but not the hidden cases (no space after ';'); q2 right; q3 untouched.
        "half": {"q1-answer": naive_q1, "q2-answer": _solution(ex01.q2)},
    }
    # The grader's own files: grading must leave them as they are (no progress noted, nothing else written).
    home = tmp_path / "home"
    (home / ".jwt-course").mkdir(parents=True)
    (home / ".jwt-course" / "progress.json").write_text('{"ex00.q1": {"title": "kept", "at": "then"}}')
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    # The roster and the due date, as the guide adds them.
    nbgrader(course, "db", "student", "add", "half", "--last-name", "Lovelace", "--first-name", "Ada")
    nbgrader(course, "db", "assignment", "add", LESSON, "--duedate", "2030-01-15 17:00:00 UTC")
    # "full" arrives as a learning platform's download, filed by zip_collect; then feedback, as the guide says.
    scores, graded = grade_and_export(course, LESSON, submissions, zipped=("full",), home=home)
    assert scores == {"full": (3.0, 3.0), "untouched": (0.0, 3.0), "half": (1.0, 3.0)}
    # Nothing at all written in the grader's home: no progress, no lab seed salt (~/.local/state), no cache.
    assert {p: p.read_bytes() for p in home.rglob("*") if p.is_file()} == before
    half = grade_and_export.rows["half"]
    assert (half["last_name"], half["first_name"], half["duedate"][:16]) == ("Lovelace", "Ada", "2030-01-15 17:00")

    assert _cell_errors(graded["full"]) == {}
    assert _check_line_output(graded["full"], "q1-check").startswith("q1: ✔ Correct")
    # Untouched: every check fails as "not answered", not with a crash or a timeout, and nothing else fails.
    assert set(_cell_errors(graded["untouched"])) == {"q1-check", "q2-check", "q3-check"}
    for error in _cell_errors(graded["untouched"]).values():
        assert error.startswith("NotCorrect: q") and "Not answered yet" in error, error
    # Half-done: q1 passes the lesson's cases, not the hidden ones; q3 was not answered.
    errors = _cell_errors(graded["half"])
    assert set(errors) == {"q1-check", "q3-check"}
    assert "(hidden cases) on a header without spaces after ';'" in errors["q1-check"]
    assert "Not answered yet" in errors["q3-check"]

    nbgrader(course, "generate_feedback", LESSON)
    for student, score in (("full", "3.0"), ("half", "1.0")):
        page = (course / "feedback" / student / LESSON / f"{LESSON}.html").read_text()
        assert f"Score: {score} / 3.0" in page, student
