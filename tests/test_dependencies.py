"""Check that environment.yml (conda, Binder) and pyproject.toml (pip) ask for the same packages."""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the back-port, a test dependency for that version only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _name_and_spec(requirement: str) -> tuple[str, str]:
    """Name and (version specifier, environment marker) of a requirement, both normalized.

    `tomli>=2; python_version < "3.11"` and `tomli >= 2 ; python_version<'3.11'` compare equal; the same
    package with and without a marker does not.
    """
    req = Requirement(requirement)
    spec = ",".join(sorted(str(s) for s in req.specifier))
    return re.sub(r"[-_.]+", "-", req.name).lower(), spec + (f"; {req.marker}" if req.marker else "")


def _pyproject_listed() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]


def pyproject_requirements() -> dict[str, str]:
    return dict(_name_and_spec(r) for r in _pyproject_listed())


# conda-forge names that differ from PyPI's (conda-forge's "playwright" is not the Python package).
CONDA_NAMES = {"playwright-python": "playwright"}


def environment_requirements() -> dict[str, str]:
    """Read the dependency lines of environment.yml (a flat YAML list; no YAML library needed).

    Conda's own list has no environment markers; a package needed only on some Pythons goes in the pip
    section with its marker, exactly as pyproject.toml states it.
    """
    text = (ROOT / "environment.yml").read_text()
    found = {}
    for line in text[text.index("dependencies:"):].splitlines():
        item = re.fullmatch(r"\s*-\s+([^#\s][^#]*?)\s*(#.*)?", line)
        if not item or item[1] == "pip:" or item[1].startswith("--"):  # the pip section, "--editable ."
            continue
        name, spec = _name_and_spec(item[1])
        if name not in ("python", "pip"):
            found[CONDA_NAMES.get(name, name)] = spec
    return found


def test_environment_yml_lists_the_same_packages_and_versions_as_pyproject():
    assert environment_requirements() == pyproject_requirements()


def test_the_comparison_sees_a_missing_package():
    """A test that cannot fail is a defect: the parser must really find the packages."""
    assert {"fastapi", "pyjwt", "nbval", "matplotlib"} <= set(environment_requirements())
    assert pyproject_requirements()["pyjwt"] == ">=2.10"


def test_the_comparison_sees_environment_markers():
    """The Python-version condition is part of what is compared, in whatever spelling it is written."""
    assert pyproject_requirements()["tomli"] == '>=2; python_version < "3.11"'
    assert environment_requirements()["tomli"] == pyproject_requirements()["tomli"]
    assert _name_and_spec("tomli >= 2 ; python_version<'3.11'") == ("tomli", '>=2; python_version < "3.11"')
    assert _name_and_spec("tomli>=2") != _name_and_spec('tomli>=2; python_version < "3.11"')


def _meant_for_this_python(requirement: str) -> bool:
    marker = Requirement(requirement).marker
    return marker is None or marker.evaluate()


@pytest.mark.parametrize("requirement", [r for r in _pyproject_listed() if _meant_for_this_python(r)])
def test_this_python_has_every_requirement_meant_for_it(requirement):
    """What pyproject.toml asks for on this Python is installed here, in a matching version."""
    req = Requirement(requirement)
    try:
        installed = version(req.name)
    except PackageNotFoundError:
        pytest.fail(f"{req.name} is not installed; run `make install`")
    assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed} does not match {req}"
