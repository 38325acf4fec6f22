"""nbgrader's autograde step with the verdicts computed outside the learner's kernel.

The course folder's ``nbgrader_config.py`` (written by ``tools/build_classroom.py``) puts
``GradeOutsideTheKernel`` where nbgrader's ``Execute`` was. For each submission it

1. grades every graded cell of the kit (``coursekit.kit.grading.grader``): the submission's code cells before it,
   as submitted, then the cell's checks, in a sealed process (one per answer: the capstone's behaviours
   share one), each graded cell with its own time limit;
2. writes each graded cell's verdict as its output: an error (0 points) unless the verdict is Correct.

The submission's code runs nowhere else: not in a kernel as the grading account, where it could read the
course folder (other learners' submissions, the gradebook, the course's secret). nbgrader's ``SaveAutoGrades``
then records the points from those outputs, as for any test cell. A notebook with a test cell an instructor
wrote by hand (not the kit's shape) is also run in a kernel, as plain nbgrader would, for that cell's sake.
"""

from __future__ import annotations

import os

import nbformat
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_solution
from traitlets import Integer, Unicode

from coursekit.kit.grading.grader import course_files_digest, grade_all, graded_cell

__all__ = ["GradeOutsideTheKernel"]


class GradeOutsideTheKernel(Execute):
    """nbgrader's Execute, with the kit's graded cells judged in sealed processes instead of the kernel."""

    graded_cell_timeout = Integer(
        60, help="Seconds a graded cell (one exercise, or one behaviour of the capstone) may take, from a fresh "
                 "process to its verdict; past it, that cell scores 0.").tag(config=True)

    secret_file = Unicode(
        "", help="The course's secret (written by tools/build_classroom.py), from which hidden cases may be drawn; "
                 "handed to the grading processes only.").tag(config=True)

    _digest: str | None = None

    def preprocess(self, nb, resources):
        digest = course_files_digest()
        if GradeOutsideTheKernel._digest is None:
            GradeOutsideTheKernel._digest = digest
        elif digest != GradeOutsideTheKernel._digest:
            raise RuntimeError("the course's installed files changed during grading (a submission wrote them?): "
                               "reinstall the course and grade again")
        os.environ["JWT_COURSE_PROGRESS"] = "off"  # the kernel below inherits it: no progress file written
        secret = open(self.secret_file).read().strip() if self.secret_file and os.path.exists(self.secret_file) else ""
        # The grader's home and the current folder are private anyway (coursekit.kit.grading.grader.private_folders).
        private = tuple(folder for folder in (self.config.CourseDirectory.get("root"), os.path.dirname(
            os.path.abspath(self.secret_file)) if self.secret_file else None) if folder)
        verdicts, sources, groups = {}, {}, []  # groups: graded cells that follow the same code, in order
        hand_written = False
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
                continue
            checks = graded_cell(cell.source)
            if checks is None:
                hand_written = True
                continue
            before = [c.source for c in nb.cells[:index]
                      if c.cell_type == "code" and not (is_grade(c) and not is_solution(c))]
            if groups and groups[-1][0] == before:
                groups[-1][1].append((index, checks))
            else:
                groups.append((before, [(index, checks)]))
            sources[index], cell.source = cell.source, ""
        for before, members in groups:
            results = grade_all(before, [checks for _, checks in members], timeout=self.graded_cell_timeout,
                                secret=secret, private=private)
            for (index, checks), verdict in zip(members, results):
                verdicts[index] = (checks.calls[0]["exercise"], verdict)
        try:
            if hand_written:  # plain nbgrader's way, for the instructor's own test cells
                nb, resources = super().preprocess(nb, resources)
        except Exception as error:  # noqa: BLE001 - a submission that kills or breaks its kernel: outputs only
            self.log.warning("the notebook's own run stopped (%s: %s); its graded cells are graded all the same",
                             type(error).__name__, error)
        finally:
            for index, source in sources.items():
                nb.cells[index].source = source
        for index, (name, verdict) in verdicts.items():
            nb.cells[index].outputs = [_output(name, verdict)]
        return nb, resources


def _output(exercise: str, verdict) -> nbformat.NotebookNode:
    """The graded cell's output: the verdict's line, as an error (no points) unless it says Correct."""
    text = f"{exercise}: {verdict.text}"
    if verdict.passed:
        return nbformat.v4.new_output("stream", name="stdout", text=text + "\n")
    kind = "GradingFlag" if verdict.flagged else "NotCorrect"
    return nbformat.v4.new_output("error", ename=kind, evalue=text, traceback=[f"{kind}: {text}"])
