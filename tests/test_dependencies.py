"""Check that environment.yml (conda, Binder) and pyproject.toml (pip) ask for the same packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name_and_spec(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*?)\s*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match[1]).lower(), match[2].replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return dict(_name_and_spec(r) for r in listed)


def environment_requirements() -> dict[str, str]:
    """Read the dependency lines of environment.yml (a flat YAML list; no YAML library needed)."""
    text = (ROOT / "environment.yml").read_text()
    found = {}
    for line in text[text.index("dependencies:"):].splitlines():
        item = re.fullmatch(r"\s*-\s+([^#\s][^#]*?)\s*(#.*)?", line)
        if not item or item[1] == "pip:" or item[1].startswith("--"):  # the pip section, "--editable ."
            continue
        name, spec = _name_and_spec(item[1])
        if name not in ("python", "pip"):
            found[name] = spec
    return found


def test_environment_yml_lists_the_same_packages_and_versions_as_pyproject():
    assert environment_requirements() == pyproject_requirements()


def test_the_comparison_sees_a_missing_package():
    """A test that cannot fail is a defect: the parser must really find the packages."""
    assert {"fastapi", "pyjwt", "nbval", "matplotlib"} <= set(environment_requirements())
    assert pyproject_requirements()["pyjwt"] == ">=2.10"
