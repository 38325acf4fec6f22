"""One graded cell judged in a process of its own: ``python -I -m coursekit.kit.sealed_run`` (started by
``coursekit.kit.grader``, never by hand).

The job comes on stdin as JSON: the submission's code cells that come before the graded cell (read from the
submitted notebook file, not from any kernel), the exercises the graded cell names (``q1`` from
``coursekit.exercises.ex01``), its checks (``q1.assert_correct(cookie_flags, set_cookie)``, visible or hidden
cases) and the report token. In order:

1. every module of the course is imported and the exercises are looked up: the grader's own objects, taken
   before any submitted line runs (a submission that rebinds ``q1`` rebinds a name nothing here reads);
2. the reference solutions are dropped from memory (the hidden cases stay: the checks need them);
3. the process is sealed (``coursekit.kit.seal``);
4. the submission's cells run, as in a fresh kernel (an error in a cell is printed and the next cell runs);
5. each check runs on the values the graded cell names, through the exercise's own ``_evaluate``;
6. the verdicts go to the grader through the seal, which adds what the submission changed, if anything.

Progress is off (``JWT_COURSE_PROGRESS=off``): grading writes nothing of the learner's or the grader's.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import os
import pkgutil
import sys
import traceback

from coursekit.kit import seal


def _load_the_course() -> None:
    """Import every module of coursekit, so that nothing is first imported after the seal by the submission."""
    import coursekit

    for info in pkgutil.walk_packages(coursekit.__path__, "coursekit."):
        try:
            importlib.import_module(info.name)
        except ImportError:  # coursekit.answers is left out of a learner's install; a grader has it
            continue
    for name, module in list(sys.modules.items()):
        if name.startswith("coursekit.answers.") and hasattr(module, "SOLUTIONS"):
            del module.SOLUTIONS  # the checks need the hidden cases, never the solutions


def _expression(source: str):
    return compile(ast.Expression(ast.parse(source, mode="eval").body), "<graded cell>", "eval")


def main() -> None:
    job = json.loads(sys.stdin.read())
    sys.stdin.close()
    os.environ["JWT_COURSE_PROGRESS"] = "off"
    _load_the_course()
    exercises = {name: getattr(importlib.import_module(module), name) for name, module in job["imports"].items()}
    checks = []  # a tuple below: nothing can swap a check in it, even through this function's frame
    for call in job["calls"]:
        exercise = exercises[call["exercise"]]
        check = exercise._check_hidden if call["hidden"] else exercise._check
        checks.append((exercise._evaluate, check, [_expression(a) for a in call["args"]],
                       {k: _expression(v) for k, v in call["kwargs"].items()}, call["hidden"]))
    checks = tuple(checks)
    report_fd, token = job.pop("report_fd"), job.pop("token")
    cells = job.pop("cells")
    del job
    seal.install(report_fd, token)
    del token

    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for number, source in enumerate(cells, start=1):
        try:
            exec(compile(source, f"<cell {number}>", "exec"), namespace)  # noqa: S102 - the submission, sealed
        except BaseException:  # noqa: BLE001 - a cell's error does not stop the notebook, as in nbgrader
            traceback.print_exc()

    verdicts = []
    for evaluate, check, args, kwargs, hidden in checks:
        try:
            values = [eval(a, namespace) for a in args]  # noqa: S307 - names the graded cell passes
            named = {k: eval(v, namespace) for k, v in kwargs.items()}  # noqa: S307
        except Exception as error:  # noqa: BLE001 - e.g. the answer cell never defined the function
            verdicts.append(["INCORRECT", f"the graded cell could not run: {type(error).__name__}: {error}", hidden])
            continue
        outcome = evaluate(check, tuple(values), named)
        verdicts.append([outcome.status.name, outcome.message, hidden])
    sys.audit(seal.REPORT, verdicts)


if __name__ == "__main__":
    main()
