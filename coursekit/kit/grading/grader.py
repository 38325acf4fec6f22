"""Grade a submitted notebook outside the kernel it ran in: one sealed process per graded cell.

A graded cell of a classroom notebook (``tools/build_classroom.py``) names its exercises and its checks::

    \"\"\"q1, Cookie flags: ... (1 point).\"\"\"
    from coursekit.exercises.ex01 import q1
    q1.assert_correct(cookie_flags, set_cookie)
    ### BEGIN HIDDEN TESTS
    q1.assert_correct_hidden(cookie_flags, set_cookie)
    ### END HIDDEN TESTS

``graded_cell()`` reads that (the grader's copy, from the course's source notebook as nbgrader restores it).
``grade_all()`` runs the submission's code cells before it, read from the notebook file, then the checks of
the graded cells that follow (the capstone has one per behaviour), in a fresh process
(``coursekit.kit.grading.sealed_run``) that loaded the kit first and sealed itself (``coursekit.kit.grading.seal``). Each graded
cell gets at most ``timeout`` seconds: a loop or a deadlock costs that cell's points only, and the cells after
it are graded in a fresh process. A cell scores its points only if every check says Correct and the seal saw
nothing changed.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.kit.grading.seal import protected_dirs
from coursekit.kit.grading.secret_cases import ENV as SECRET_ENV

__all__ = ["GradedCell", "Verdict", "graded_cell", "grade", "grade_all", "course_files_digest"]

CHECKS = {"assert_correct": False, "assert_correct_hidden": True}


@dataclass
class GradedCell:
    """What a graded cell checks: its exercises by name (name -> module) and its check calls."""

    imports: dict[str, str] = field(default_factory=dict)
    calls: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    """A graded cell's result: passed or not, and the line the learner and the instructor read."""

    passed: bool
    text: str
    flagged: bool = False


def graded_cell(source: str) -> GradedCell | None:
    """The exercises and checks of a graded cell's source, or None if it is not one of the kit's."""
    cell = GradedCell()
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("coursekit."):
            cell.imports.update({a.asname or a.name: node.module for a in node.names})
        elif (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
              and isinstance(node.value.func, ast.Attribute) and node.value.func.attr in CHECKS
              and isinstance(node.value.func.value, ast.Name)):
            call = node.value
            cell.calls.append({"exercise": call.func.value.id, "hidden": CHECKS[call.func.attr],
                               "args": [ast.unparse(a) for a in call.args],
                               "kwargs": {k.arg: ast.unparse(k.value) for k in call.keywords if k.arg}})
    if not cell.calls or any(c["exercise"] not in cell.imports for c in cell.calls):
        return None
    return cell


def course_files_digest() -> str:
    """A digest of the course's installed source files: grading stops if a submission changed them."""
    digest = hashlib.sha256()
    for folder in protected_dirs():
        for path in sorted(Path(folder).rglob("*.py")):
            digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def private_folders() -> tuple[str, ...]:
    """What a submission being graded may not read or write: the grader's home and the course folder (other
    learners' submissions, the gradebook, the course's secret), wherever nbgrader runs from."""
    return tuple(sorted({os.path.realpath(Path.home()), os.path.realpath(os.getcwd())}))


def lesson_key(secret: str, imports: dict[str, str]) -> str:
    """What a grading process gets of the course's secret: a key for the lessons it grades, derived from it. The
    secret is in that process's memory while a submission runs there; a submission that finds and leaks it (in a
    verdict's text, say) learns one assignment's cases, which its feedback shows anyway, not the next ones."""
    lessons = sorted({module.split(".")[2] for module in imports.values() if module.startswith("coursekit.exercises.")})
    return hmac.new(secret.encode(), ",".join(lessons).encode(), hashlib.sha256).hexdigest() if secret else ""


def _environment(scratch: Path, secret: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JWT_COURSE_GRADING", "PYTHON", "JUPYTER", "XDG_", "MPL")) and k not in ("PWD", "OLDPWD")}
    home, runtime, temp = scratch / "home", scratch / "run", scratch / "tmp"
    for folder in (home, runtime, temp):
        folder.mkdir(mode=0o700)
    # A home and a temporary folder of its own (the grader's are out of the submission's reach: seal.py), its own
    # fork server for lab servers (gone with the process), and no progress file written anywhere.
    env.update({"HOME": str(home), "TMPDIR": str(temp), "XDG_RUNTIME_DIR": str(runtime),
                "JWT_COURSE_PROGRESS": "off", "LABSERVER_FORKSERVER_IDLE": "0", "MPLBACKEND": "Agg"})
    if secret:  # for hidden cases drawn from it (coursekit.kit.grading.secret_cases)
        env[SECRET_ENV] = secret
    return env


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _run(cells: list[str], graded: list[GradedCell], timeout: float, log: Path | None,
         secret: str, private: tuple[str, ...]) -> list[dict | str]:
    """One sealed process for ``graded`` (cells after the same answer): each cell's report, in order, until one
    takes longer than ``timeout`` ("late") or the process ends without reporting the rest ("none")."""
    token = secrets.token_hex(16)
    read_end, write_end = os.pipe()
    imports = {name: module for cell in graded for name, module in cell.imports.items()}
    job = {"cells": cells, "imports": imports, "graded": [cell.calls for cell in graded], "token": token,
           "report_fd": write_end, "private": [*private_folders(), *private]}
    reports: list[dict | str] = []
    # A lab's fork server may still be leaving its socket folder as the process group ends: cleanup is best effort.
    with tempfile.TemporaryDirectory(prefix="jwt-course-grading-", ignore_cleanup_errors=True) as scratch:
        out = open(log or os.devnull, "ab")
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-m", "coursekit.kit.grading.sealed_run"], cwd=scratch,
                env=_environment(Path(scratch), lesson_key(secret, imports)), stdin=subprocess.PIPE, stdout=out, stderr=out,
                pass_fds=(write_end,), start_new_session=True)
        finally:
            os.close(write_end)
            out.close()
        try:
            process.stdin.write(json.dumps(job).encode())
            process.stdin.close()
            buffer, deadline = b"", time.monotonic() + timeout
            while len(reports) < len(graded):
                left = deadline - time.monotonic()
                if left <= 0:
                    reports.append("late")
                    break
                ready, _, _ = select.select([read_end], [], [], min(left, 0.2))
                chunk = os.read(read_end, 65536) if ready else b""
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    text = line.decode(errors="replace")
                    if text.startswith(token + " "):
                        report = json.loads(text[len(token) + 1:])
                        if report["cell"] == len(reports):
                            reports.append(report)
                            deadline = time.monotonic() + timeout  # the next graded cell's own time
                if (ready and not chunk) or (not ready and process.poll() is not None
                                             and not select.select([read_end], [], [], 0)[0]):
                    reports.append("none")  # the process ended, or closed its report, before reporting
                    break
        finally:
            os.close(read_end)
            _stop(process)
    return reports


def grade_all(cells: list[str], graded: list[GradedCell], timeout: float = 60,
              log: Path | None = None, secret: str = "", private: tuple[str, ...] = ()) -> list[Verdict]:
    """Run ``cells`` then each of ``graded`` (graded cells that follow the same answer) in a sealed process;
    one verdict per graded cell, each within ``timeout`` seconds of the one before (the first: of the start).
    A graded cell that runs out of time costs its own points: the rest are graded in a fresh process.
    ``private``: folders the submission may not touch, besides the grader's home and current folder."""
    verdicts: list[Verdict] = []
    while len(verdicts) < len(graded):
        for report in _run(cells, graded[len(verdicts):], timeout, log, secret, private):
            if report == "late":
                verdicts.append(Verdict(False, f"✘ Incorrect: did not finish within {timeout:g} s (the time limit "
                                               "of a graded cell): a loop, a deadlock, or a call that never returns?"))
            elif report == "none":
                verdicts += [Verdict(False, "✘ Incorrect: the grader got no verdict (the submission ended the "
                                            "grading process or broke its report)", flagged=True)] * (
                    len(graded) - len(verdicts))
            else:
                verdicts.append(_verdict(report, graded[len(verdicts)]))
    return verdicts


def grade(cells: list[str], cell: GradedCell, timeout: float = 60, log: Path | None = None) -> Verdict:
    """Run ``cells`` then the checks of ``cell`` in a sealed process; the verdict, within ``timeout`` seconds."""
    return grade_all(cells, [cell], timeout, log)[0]


def _verdict(report: dict, cell: GradedCell) -> Verdict:
    if [hidden for _, _, hidden in report["verdicts"]] != [call["hidden"] for call in cell.calls]:
        return Verdict(False, "✘ Flagged: the grader got verdicts for other checks than this cell's; no points",
                       flagged=True)
    if report["tampered"]:
        return Verdict(False, "✘ Flagged: the submission changed or reached into the grader ("
                       + "; ".join(report["tampered"][:5]) + "); no points", flagged=True)
    for status, message, hidden in report["verdicts"]:
        if status != "CORRECT":
            label = {"NOT_ANSWERED": "… Not answered yet", "INCORRECT": "✘ Incorrect"}.get(status, status)
            return Verdict(False, f"{label}: " + ("(hidden cases) " if hidden else "") + message)
    messages = [m for _, m, _ in report["verdicts"] if m]
    return Verdict(True, "✔ Correct" + (f": {messages[0]}" if messages else ""))
