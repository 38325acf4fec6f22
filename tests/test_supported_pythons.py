"""Check that every place naming the supported Pythons names the same ones.

pyproject.toml's `requires-python` sets the oldest; the Makefile's `test-all-pythons` target, the hosted CI
matrix and the README list each version tested. A version added in one place and forgotten in another
would be promised but untested, or tested but not promised.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.specifiers import SpecifierSet
from test_dependencies import tomllib

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "tests.yml"


def makefile_pythons() -> list[str]:
    return re.search(r"^PYTHONS\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)[1].split()


def ci_pythons() -> list[str]:
    return re.findall(r'"(3\.\d+)"', re.search(r"^\s*python-version:\s*\[(.*)\]", WORKFLOW.read_text(), re.M)[1])


def readme_pythons() -> list[str]:
    """The versions in the README's sentence "Supported and tested: Python 3.10, 3.11, 3.12 and 3.13"."""
    sentence = re.search(r"Supported and tested: Python ([0-9., and]+)", (ROOT / "README.md").read_text())
    return re.findall(r"3\.\d+", sentence[1])


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def test_the_makefile_ci_and_readme_test_the_same_pythons():
    assert makefile_pythons() == ci_pythons() == readme_pythons()


def test_the_tested_pythons_are_consecutive_from_the_oldest_pyproject_allows():
    tested = makefile_pythons()
    requires = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    oldest = min(tested, key=_minor)
    assert oldest in requires
    assert f"3.{_minor(oldest) - 1}" not in requires, "pyproject.toml allows a Python that is never tested"
    assert [_minor(v) for v in tested] == list(range(_minor(oldest), _minor(oldest) + len(tested)))


def test_ci_runs_the_one_ci_script_with_the_matrix_python():
    workflow = WORKFLOW.read_text()
    assert re.search(r"^\s*run: bash \.ci/run$", workflow, re.M)
    assert "python-version: ${{ matrix.python-version }}" in workflow
    assert "PYTHON: python${{ matrix.python-version }}" in workflow
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("make test")


def test_the_parsers_really_read_the_files():
    """A test that cannot fail is a defect: each list must be found and hold versions."""
    assert "3.10" in makefile_pythons() and "3.10" in ci_pythons() and "3.10" in readme_pythons()
    assert "make test-all-pythons" in (ROOT / "README.md").read_text()
