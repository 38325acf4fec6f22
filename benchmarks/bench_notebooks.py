"""How long the lessons take to run, against the floor of starting a kernel and running nothing.

    python benchmarks/bench_notebooks.py

Floor: for each of the N lessons, start a fresh kernel and run an empty notebook. Lessons: start a
fresh kernel and run the lesson top to bottom (as nbval does). Target: lessons <= 2 x floor.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def run(nb, folder: Path) -> float:
    started = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - started


def main(repeats: int = 3) -> None:
    empty = new_notebook(cells=[new_code_cell("")])
    print(f"Python {sys.version.split()[0]}, {len(NOTEBOOKS)} lessons, median of {repeats} runs each\n")
    floor_total = lessons_total = 0.0
    for path in NOTEBOOKS:
        floor = statistics.median(run(nbformat.from_dict(empty), path.parent) for _ in range(repeats))
        lesson = statistics.median(run(nbformat.read(path, as_version=4), path.parent) for _ in range(repeats))
        floor_total += floor
        lessons_total += lesson
        print(f"{path.stem:32} {lesson:6.2f} s   (kernel + empty notebook {floor:4.2f} s)")
    print(f"\n{'all lessons':32} {lessons_total:6.2f} s")
    print(f"{'floor: N x empty notebook':32} {floor_total:6.2f} s")
    print(f"{'ratio (target <= 2.0)':32} {lessons_total / floor_total:6.2f}")


if __name__ == "__main__":
    main()
