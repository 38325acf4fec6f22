"""The tree shows its architecture: every package is installed, no folder is a heap, and the map in
docs/authoring.md names every folder of coursekit/ and labserver/ and nothing else."""

import re
from pathlib import Path

import pytest
import setuptools

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("coursekit", "labserver")


def folders() -> list[str]:
    """Every folder of the two packages, as a path from the root: code, data and static folders alike."""
    found = []
    for top in PACKAGES:
        found += [top] + [str(p.relative_to(ROOT)) for p in sorted((ROOT / top).rglob("*"))
                          if p.is_dir() and p.name != "__pycache__"]
    return found


def test_every_folder_with_python_code_is_a_package_the_install_includes():
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    installed = set(setuptools.find_packages(str(ROOT), include=find["include"]))
    with_code = {folder.replace("/", ".") for folder in folders() if any((ROOT / folder).glob("*.py"))}
    assert with_code == installed
    for package in installed:
        assert (ROOT / package.replace(".", "/") / "__init__.py").exists(), package


@pytest.mark.parametrize("folder", folders())
def test_no_folder_holds_more_than_a_dozen_modules(folder):
    modules = [p.name for p in (ROOT / folder).glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(modules) <= 12, (folder, sorted(modules))


def test_the_map_in_the_authoring_guide_matches_the_tree():
    text = (ROOT / "docs" / "authoring.md").read_text()
    section = text.split("## The tree", 1)[1].split("\n## ", 1)[0]
    mapped = re.findall(r"^[-*] `((?:coursekit|labserver)[^`]*?)/?`", section, re.MULTILINE)
    assert mapped, "the map lists no folder"
    assert sorted(m.rstrip("/") for m in mapped) == sorted(folders())
