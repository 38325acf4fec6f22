"""How long the lessons take to run, against the floor of starting a kernel and running nothing.

    python benchmarks/bench_notebooks.py              # every lesson in notebooks/, fastest of 3 runs each
    python benchmarks/bench_notebooks.py --repeats 1  # a quicker look

Floor: for each of the N lessons, start a fresh kernel and run an empty notebook. Lessons: start a
fresh kernel and run the lesson top to bottom (as nbval does). Target: lessons <= 2 x floor.
The lessons are found, not listed: every ``notebooks/NN-*.ipynb`` counts, so a new lesson is measured
as soon as it exists. Each lesson and its floor are measured in turns, so a busy moment hits both, and each
is the fastest of its runs: now and then jupyter_client's kernel shutdown waits ~3 s for a kernel that has
already answered (an empty notebook took 0.8 s ten times in twelve and 4.1 s twice), and a median of three
does not hide that.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))
TARGET = 2.0


def run(nb, folder: Path) -> float:
    started = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each lesson and of its floor; the fastest counts (3)")
    repeats = parser.parse_args().repeats
    empty = new_notebook(cells=[new_code_cell("")])
    print(f"Python {sys.version.split()[0]}, {len(NOTEBOOKS)} lessons, fastest of {repeats} runs each, "
          f"load average {os.getloadavg()[0]:.1f} at the start\n")
    floor_total = lessons_total = 0.0
    for path in NOTEBOOKS:
        floors, lessons = [], []
        for _ in range(repeats):
            floors.append(run(nbformat.from_dict(empty), path.parent))
            lessons.append(run(nbformat.read(path, as_version=4), path.parent))
        floor, lesson = min(floors), min(lessons)
        floor_total += floor
        lessons_total += lesson
        print(f"{path.stem:32} {lesson:6.2f} s   (kernel + empty notebook {floor:4.2f} s)  {lesson / floor:5.2f} x"
              f"  {'met' if lesson <= TARGET * floor else 'MISSED'}")
    ratio = lessons_total / floor_total
    print(f"\n{'all lessons':32} {lessons_total:6.2f} s")
    print(f"{'floor: N x empty notebook':32} {floor_total:6.2f} s")
    print(f"{'lessons / floor':32} {ratio:6.2f}   target <= {TARGET}  {'met' if ratio <= TARGET else 'MISSED'}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
