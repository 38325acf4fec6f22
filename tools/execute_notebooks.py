"""Run notebooks top to bottom in a fresh kernel and save them with their outputs (what nbval compares).

    python tools/execute_notebooks.py notebooks/02-the-jwt-flow.ipynb   # one
    python tools/execute_notebooks.py                                   # all lessons
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


# Executing the lessons solves nothing for anyone: keep the progress file (coursekit.kit.progress) out of it.
os.environ["JWT_COURSE_PROGRESS"] = "off"
# The stored outputs are the published ones, the same for everyone: no per-user salt in seeded labs.
os.environ["LABSERVER_SEED_SALT"] = "published"


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=False, resources={"metadata": {"path": str(path.parent)}}).execute()
    nb.metadata.pop("widgets", None)
    # With no widget state saved, a stored widget view points at no model (JupyterLab shows "model not found")
    # and its model id is random: keep its text/plain view, which readers and nbval see.
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
    # One stream output per cell and stream, however the kernel happened to flush: the file changes only when
    # the text does.
    CoalesceStreamsPreprocessor().preprocess(nb, {})
    nbformat.write(nb, path)


def main(paths: list[str]) -> None:
    for path in [Path(p) for p in paths] or sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        print(f"executing {path.name}", flush=True)
        execute(path)


if __name__ == "__main__":
    main(sys.argv[1:])
