"""The notebook harness has teeth: nbval fails when the server changes what a lesson shows.

In the spirit of nbval's own test-NAME-pass / test-NAME-fail sample notebooks: a pair of tiny samples
proves the sanitize file masks the port and nothing else, and a planted change to the lab server (its
default access-token lifetime) makes a real lesson fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
SANITIZE = ROOT / "tests" / "nbval-sanitize.cfg"
LESSON = ROOT / "notebooks" / "02-the-jwt-flow.ipynb"


def planted_server(tmp_path: Path, module: str, old: str, new: str) -> Path:
    """Copy labserver/ with ``old`` replaced by ``new`` in ``module``; return the folder to put on PYTHONPATH.

    The kernel and the lab servers it starts import labserver from PYTHONPATH first: the planted copy.
    """
    planted = tmp_path / "planted"
    shutil.copytree(ROOT / "labserver", planted / "labserver", ignore=shutil.ignore_patterns("__pycache__"))
    path = planted / "labserver" / module
    original = path.read_text()
    changed = original.replace(old, new, 1)
    assert changed != original, f"the plant no longer applies: update this test with labserver/{module}"
    path.write_text(changed)
    return planted


def run_nbval(tmp_path: Path, *paths: Path, env: dict | None = None) -> tuple[dict[str, str], str]:
    """Run nbval strictly on the notebooks in a fresh pytest; return ({test id: PASSED or FAILED}, the report)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the project's settings: only what is given here
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
         "-p", "no:cacheprovider", "-p", "no:xdist", "--nbval", "--nbval-current-env",
         f"--nbval-sanitize-with={SANITIZE}", "-rA", "-q", *map(str, paths)],
        cwd=tmp_path, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300)
    outcomes = {test: status for status, test in re.findall(r"^(PASSED|FAILED) (.+?)(?: - .*)?$",
                                                                result.stdout, re.MULTILINE)}
    assert outcomes, result.stdout + result.stderr
    return outcomes, result.stdout


def sample(path: Path, source: str, stored_output: str) -> Path:
    cell = new_code_cell(source, execution_count=1,
                         outputs=[new_output("stream", name="stdout", text=stored_output)])
    nbformat.write(new_notebook(cells=[cell], metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                        "display_name": "Python 3"}}), path)
    return path


def test_sanitize_masks_the_port_and_nothing_else(tmp_path):
    listen = "import random; print(f'listening on http://127.0.0.1:{random.randint(20000, 60000)}/ for {1800} s')"
    passing = sample(tmp_path / "test-port-pass.ipynb", listen, "listening on http://127.0.0.1:8000/ for 1800 s\n")
    failing = sample(tmp_path / "test-lifetime-fail.ipynb", listen,
                     "listening on http://127.0.0.1:8000/ for 1860 s\n")

    outcomes, report = run_nbval(tmp_path, passing, failing)

    assert [s for t, s in outcomes.items() if "test-port-pass" in t] == ["PASSED"], report
    assert [s for t, s in outcomes.items() if "test-lifetime-fail" in t] == ["FAILED"], report


def test_a_planted_change_to_the_server_fails_the_lesson(tmp_path):
    planted = planted_server(tmp_path, "control/settings.py",
                             "access_ttl: float = 30 * MINUTE", "access_ttl: float = 31 * MINUTE")
    outcomes, report = run_nbval(tmp_path, LESSON, env={"PYTHONPATH": str(planted)})

    assert "FAILED" in outcomes.values(), report
    assert "1860" in report, "the failure should show the planted lifetime (31 min = 1860 s)"


def test_a_flaw_that_no_longer_works_fails_the_attack_lesson(tmp_path):
    """Lesson 06 shows each flaw accepting a forgery: a server whose alg-none flaw stopped working must fail it."""
    planted = planted_server(tmp_path, "tokens/access.py", 'unsigned = flaw("alg-none") and', 'unsigned = False and')
    outcomes, report = run_nbval(tmp_path, ROOT / "notebooks" / "06-attacks-and-defences.ipynb",
                                 env={"PYTHONPATH": str(planted)})

    failed = [test for test, status in outcomes.items() if status == "FAILED"]
    # The attack cell (now refused) and the cell that shows the flaw's line, read from the planted source.
    assert len(failed) == 2, report
    assert "algorithm must be HS256" in report
