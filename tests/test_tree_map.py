"""docs/authoring.md opens with a map of the tree, one line per folder: it must name every folder and no other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def mapped(package: str) -> set[str]:
    """The folders of ``package`` the map names: its lines starting "- `package/.../` —"."""
    text = (ROOT / "docs" / "authoring.md").read_text()
    return set(re.findall(rf"^- `({package}(?:/[\w-]+)*)/` —", text, re.MULTILINE))


def folders(package: str) -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in [ROOT / package, *(ROOT / package).rglob("*")]
            if path.is_dir() and path.name != "__pycache__"}


@pytest.mark.parametrize("package", ["labserver", "coursekit"])
def test_the_map_in_the_authoring_guide_names_every_folder_of_the_package(package):
    assert package in folders(package) and len(folders(package)) > 1
    assert mapped(package) == folders(package)
