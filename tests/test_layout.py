"""The tree shows its architecture: no folder of coursekit/ or labserver/ is a heap of a dozen modules or more.

(The packages installed: tests/test_packaging.py; the map of the tree: tests/test_tree_map.py; import circles and
module sizes: tests/test_import_graph.py.)"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("coursekit", "labserver")


def folders() -> list[str]:
    """Every folder of the two packages, as a path from the root: code, data and static folders alike."""
    found = []
    for top in PACKAGES:
        found += [top] + [str(p.relative_to(ROOT)) for p in sorted((ROOT / top).rglob("*"))
                          if p.is_dir() and p.name != "__pycache__"]
    return found


@pytest.mark.parametrize("folder", folders())
def test_no_folder_holds_more_than_a_dozen_modules(folder):
    modules = [p.name for p in (ROOT / folder).glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(modules) <= 12, (folder, sorted(modules))
