"""Every lesson's reference answers, graded as `nbgrader autograde` grades them (coursekit/kit/grading/nbgrader_step.py:
sealed processes, one per answer), score every point, with nothing flagged.

The cheats and the round trip use lessons 01 and 09; this is what keeps the seal from refusing a right answer
elsewhere (a lesson whose cells draw with matplotlib, or import parts of the lab server first). About 130 s
of processor time, spread over the workers.
"""

from __future__ import annotations

import nbformat
import pytest

from classroom_tools import build_classroom
from notebook_tools import ROOT

LESSONS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")
                 if not p.stem.startswith(("01-", "09-")))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    out = tmp_path_factory.mktemp("classroom")
    build_classroom.build(out)
    return out


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_reference_answers_score_every_point_unflagged(course, lesson, monkeypatch):
    from coursekit.kit.grading.nbgrader_step import GradeOutsideTheKernel

    path = course / "source" / lesson / f"{lesson}.ipynb"
    if not path.exists():
        pytest.skip(f"{lesson} has no graded exercise")
    monkeypatch.chdir(course)  # as nbgrader runs: from the course folder, which the submission may not read
    notebook, _ = GradeOutsideTheKernel().preprocess(nbformat.read(path, as_version=4), {})
    graded = [cell for cell in notebook.cells if cell.cell_type == "code"
              and cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")]
    assert graded, lesson
    for cell in graded:
        (output,) = cell.outputs
        assert output.output_type == "stream" and "✔ Correct" in output.text, output
