"""Every notebook, with every reference solution filled in, runs clean twice in one kernel.

nbval (run by the same `pytest` command) checks the notebooks as shipped, with blanks. This checks what
nbval cannot: that each exercise's solution really passes its check in the notebook's own context, and
that "Run All" a second time in the same kernel works and gives the same outputs.
"""

from __future__ import annotations

import nbformat
import pytest

from notebook_tools import NOTEBOOKS, answer_cells, fill_solutions, run_all


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_with_solutions_says_correct_twice_in_one_kernel(path):
    nb = nbformat.read(path, as_version=4)
    number = path.name[:2]
    has_exercises = bool(answer_cells(nb))
    filled = fill_solutions(nb, f"coursekit.exercises.ex{number}") if has_exercises else 0
    if number >= "01":
        assert 2 <= filled <= 4, f"{path.name} has {filled} exercises; lessons from 01 on have 2 to 4"

    first, second = run_all(nb, path, times=2)

    checks = [text for text, cell in zip(first, [c for c in nb.cells if c.cell_type == "code"])
              if "exercise" in cell.metadata.get("tags", [])]
    assert len(checks) == filled
    for text in checks:
        assert text.startswith("✔ Correct"), text
    assert second == first, "Run All a second time in the same kernel gave different outputs"
