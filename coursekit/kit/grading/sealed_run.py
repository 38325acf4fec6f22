"""One graded cell judged in a process of its own: ``python -I -m coursekit.kit.grading.sealed_run`` (started by
``coursekit.kit.grading.grader``, never by hand).

The job comes on stdin as JSON: the submission's code cells that come before the graded cells (read from the
submitted notebook file, not from any kernel), the exercises the graded cells name (``q1`` from
``coursekit.exercises.ex01``), their checks (``q1.assert_correct(cookie_flags, set_cookie)``, visible or hidden
cases; one graded cell, or the capstone's cells that follow one answer, one per behaviour) and the report
token. In order:

1. the exercises' modules and the kit are imported and the exercises are looked up: the grader's own objects, taken
   before any submitted line runs (a submission that rebinds ``q1`` rebinds a name nothing here reads);
2. the reference solutions are dropped from memory (the hidden cases stay: the checks need them);
3. the process is sealed (``coursekit.kit.grading.seal``);
4. the submission's cells run, as in a fresh kernel (an error in a cell is printed and the next cell runs);
5. the labs the cells started for checks are stopped, and each check runs on the values the graded cell names,
   through the exercise's own ``_evaluate``, on labs it starts itself;
6. each graded cell's verdicts go to the grader through the seal as soon as they are known, with what the
   submission changed, if anything (so that the grader can time each graded cell on its own): what it
   changed by the time the checks began, what it changed since, and any lab control the checks did not send.

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
import threading
import traceback

from coursekit.kit.grading import seal
from coursekit.labtools.lab import stop_fresh_labs


def _load(modules: set[str]) -> None:
    """Import the graded exercises' modules (a package with all of its modules), the kit, and the lesson's hidden
    cases, so that none of what judges is first imported after the seal; then drop the reference solutions."""
    names = set(modules) | {f"coursekit.kit.{m.name}" for m in pkgutil.iter_modules(importlib.import_module(
        "coursekit.kit").__path__)}
    for name in list(names):
        lesson = name.split(".")[2] if name.startswith("coursekit.exercises.") else ""
        if lesson:
            names.add(f"coursekit.answers.{lesson}")
    for name in sorted(names):
        try:
            module = importlib.import_module(name)
        except ImportError:  # coursekit.answers is left out of a learner's install; a grader has it
            continue
        for info in pkgutil.walk_packages(getattr(module, "__path__", []), f"{name}."):
            importlib.import_module(info.name)
    for name, module in list(sys.modules.items()):
        if name.startswith("coursekit.answers.") and hasattr(module, "SOLUTIONS"):
            del module.SOLUTIONS  # the checks need the hidden cases, never the solutions


def _expression(source: str):
    return compile(ast.Expression(ast.parse(source, mode="eval").body), "<graded cell>", "eval")


def main() -> None:
    job = json.loads(sys.stdin.read())
    sys.stdin.close()
    os.environ["JWT_COURSE_PROGRESS"] = "off"
    # A kit module first imported after the seal (a picture a lesson's cell draws) is read from its file, never
    # cached back: the seal refuses writes into the installed course.
    sys.dont_write_bytecode = True
    _load(set(job["imports"].values()))
    exercises = {name: getattr(importlib.import_module(module), name) for name, module in job["imports"].items()}
    graded = []  # tuples: nothing can swap a check in them, even through this function's frame
    for cell in job["graded"]:
        checks = []
        for call in cell:
            exercise = exercises[call["exercise"]]
            check = exercise._check_hidden if call["hidden"] else exercise._check
            checks.append((exercise._evaluate, check, tuple(_expression(a) for a in call["args"]),
                           tuple((k, _expression(v)) for k, v in call["kwargs"].items()), call["hidden"]))
        graded.append(tuple(checks))
    graded = tuple(graded)
    report_fd, token, private = job.pop("report_fd"), job.pop("token"), job.pop("private", ())
    cells = job.pop("cells")
    del job
    seal.install(report_fd, token, private=tuple(private))
    del token

    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for number, source in enumerate(cells, start=1):
        try:
            exec(compile(source, f"<cell {number}>", "exec"), namespace)  # noqa: S102 - the submission, sealed
        except BaseException:  # noqa: BLE001 - a cell's error does not stop the notebook, as in nbgrader
            traceback.print_exc()

    # The checks start their labs afresh: none that the cells may have started (or rewired) is reused.
    stop_fresh_labs()
    sys.audit(seal.CHECKS_BEGIN)
    for index, checks in enumerate(graded):
        verdicts = []
        for evaluate, check, args, kwargs, hidden in checks:
            try:
                values = tuple(eval(a, namespace) for a in args)  # noqa: S307 - names the graded cell passes
                named = {k: eval(v, namespace) for k, v in kwargs}  # noqa: S307
            except Exception as error:  # noqa: BLE001 - e.g. the answer cell never defined the function
                verdicts.append(["INCORRECT", f"the graded cell could not run: {type(error).__name__}: {error}",
                                 hidden])
                continue
            outcome = evaluate(check, values, named)
            verdicts.append([outcome.status.name, outcome.message, hidden])
        sys.audit(seal.REPORT, index, verdicts)


def in_a_thread_of_its_own() -> None:
    """Run main() in a thread of its own, the main thread only waiting for it in C.

    A Python signal handler runs in the main thread and is handed its frame, with no audit event to refuse it:
    were the checks run there, a handler the submission installed could read and change what they hold. Here the
    main thread holds nothing of the grading and runs no Python code while it waits, and the submission, running
    in another thread, cannot install a handler at all (``signal.signal`` works in the main thread only).
    """
    grading = threading.Thread(target=main, name="grading")
    grading.start()
    grading.join()


if __name__ == "__main__":
    in_a_thread_of_its_own()
