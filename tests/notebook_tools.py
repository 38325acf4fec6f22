"""Run notebooks from tests: fill in the reference solutions, execute cells in one kernel, read outputs."""

from __future__ import annotations

import configparser
import importlib
import re
from pathlib import Path

from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CHECK_LINE = re.compile(r"^(q\d+)\.check\(", re.MULTILINE)


def answer_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and "exercise" in c.metadata.get("tags", [])]


def fill_solutions(nb, exercises_module: str) -> int:
    """Replace each answer cell's blanks with the exercise's reference solution; return how many."""
    module = importlib.import_module(exercises_module)
    cells = answer_cells(nb)
    for cell in cells:
        match = CHECK_LINE.search(cell.source)
        assert match, f"answer cell without a qN.check(...) line:\n{cell.source}"
        exercise = getattr(module, match[1])
        # Solutions may be written indented, inside the class body: dedent them to the cell's margin.
        solution = exercise.solution_source()
        cell.source = solution + "\n" + cell.source[match.start():]
    return len(cells)


def sanitizers() -> list[tuple[re.Pattern, str]]:
    """The regex/replace pairs of tests/nbval-sanitize.cfg, the same ones nbval applies."""
    config = configparser.ConfigParser()
    config.read(ROOT / "tests" / "nbval-sanitize.cfg")
    return [(re.compile(config[s]["regex"]), config[s]["replace"]) for s in config.sections()]


def sanitize(text: str) -> str:
    for pattern, replacement in sanitizers():
        text = pattern.sub(replacement, text)
    return text


def text_of(cell) -> str:
    """All text a code cell showed: streams and the text/plain of results and displays."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return sanitize("".join(parts))


def run_all(nb, path: Path, times: int = 1) -> list[list[str]]:
    """Run every cell of ``nb`` top to bottom ``times`` times in ONE kernel ("Run All" again).

    Returns, for each run, the text each code cell showed. Raises on the first cell error.
    """
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    runs = []
    with client.setup_kernel():
        for _ in range(times):
            texts = []
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
                    texts.append(text_of(cell))
            runs.append(texts)
    return runs
