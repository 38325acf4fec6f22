"""Build the course's wheel for learners of a class: everything but ``coursekit/answers`` (the reference
solutions and the capstone's hidden cases). ``make student-wheel``, or

    python tools/student_wheel.py            # into dist/
    python tools/student_wheel.py OUT_DIR

then, in the learners' environment: ``pip install OUT_DIR/jwt_course-*.whl``. In that install
``qN.solution()`` answers "No solution here" and ``Exercise.solution_source()`` raises LookupError.
The grader's own environment keeps the full install (``make install``): the graded checks need the hidden cases.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = ("answers",)  # folders of coursekit/ learners do not get


def build(out: Path) -> Path:
    """Write the wheel into ``out``; return its path."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "jwt-course"
        tree.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, tree / name)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(ROOT / "labserver", tree / "labserver", ignore=ignore)
        shutil.copytree(ROOT / "coursekit", tree / "coursekit",
                        ignore=lambda folder, names: [*ignore(folder, names), *(
                            n for n in names if Path(folder) == ROOT / "coursekit" and n in LEFT_OUT)])
        before = set(out.glob("*.whl"))
        built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out),
                                str(tree)], capture_output=True, text=True)  # setuptools' notes on data folders
        if built.returncode:
            raise RuntimeError(f"pip wheel failed:\n{built.stdout}{built.stderr}")
    (wheel,) = set(out.glob("*.whl")) - before or sorted(out.glob("jwt_course-*.whl"))[-1:]
    return wheel


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"))
