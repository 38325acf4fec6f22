"""The sealed grading process on its own (coursekit/kit/grading/grader.py, seal.py, sealed_run.py), without nbgrader.

Lesson 01's q1 (cookie flags) is graded from a few cells: the header, an answer, maybe a cheat. The right
answer passes; every way around the grader that tests/test_classroom_cheats.py does not already try through
nbgrader scores nothing and is named in the verdict; a graded cell that never returns costs its own points
only, and the graded cells after it are judged in a fresh process.
"""

from __future__ import annotations

import pytest

from coursekit.exercises import ex01
from coursekit.kit.grading.grader import GradedCell, grade, grade_all, graded_cell

HEADER = 'set_cookie = "session=abc; HttpOnly; Path=/; SameSite=strict"'
BLANK = "from coursekit.kit.exercise import ____\ndef cookie_flags(header):\n    return ____"
CELL = graded_cell("from coursekit.exercises.ex01 import q1\nq1.assert_correct(cookie_flags, set_cookie)\n"
                   "q1.assert_correct_hidden(cookie_flags, set_cookie)")

REACHING_IN = {
    # Data changed in place: a kit module's dict, a kit class's list, and one put back by the answer once the
    # checks have begun (seen when they begin, before anything can put it back).
    "in-place-module": ("import coursekit.kit.exercise as kit\nkit._COLOURS.clear()",
                        "what coursekit.kit.exercise._COLOURS holds changed in place"),
    "in-place-class": ("from coursekit.exercises.ex01 import CookieFlags\nCookieFlags._hints.append('x')",
                       "what coursekit.exercises.ex01.CookieFlags holds changed in place"),
    "put-back-later": ("from coursekit.exercises.ex01 import CookieFlags\nhints = CookieFlags._hints\n"
                       "hints.append('x')\nright = cookie_flags\ndef cookie_flags(header):\n"
                       "    if hints[-1] == 'x':\n        hints.pop()\n    return right(header)",
                       "what coursekit.exercises.ex01.CookieFlags holds changed in place"),
    # Code renamed to pass for a library's in a stack (what decides whether a lab control is the check's).
    "renamed-code": ("import threading\ndef f():\n    pass\nf.__code__.replace(co_filename=threading.__file__)",
                     "code that claims to be"),
    "compiled-as-library": ("import threading\ncompile('x = 1', threading.__file__, 'exec')", "code that claims to be"),
    # A library function's code swapped (the seal's own report goes through json.dumps).
    "library-code": ("import json\ndef fake(*a, **k):\n    return '{}'\njson.dumps.__code__ = fake.__code__",
                     "changing dumps.__code__"),
    "gc": ("import gc\ngc.get_referrers(gc)", "gc.get_referrers"),
    "ctypes": ("import ctypes\nctypes.string_at(id(1), 8)", "ctypes."),
    "trace": ("import sys\nsys.settrace(lambda *a: None)", "sys.settrace"),
    "audit-hook": ("import sys\nsys.addaudithook(lambda *a: None)", "sys.addaudithook"),
    "import-hook": ("import sys\nclass F:\n    def find_spec(self, *a): return None\nsys.meta_path.insert(0, F())",
                    "import hooks changed"),
    "library": ("import json\njson.loads = lambda *a, **k: {}", "json.loads changed"),
    "solutions-file": ("import coursekit.exercises as e, pathlib\n"
                       "(pathlib.Path(e.__file__).parent.parent / 'answers' / 'ex01.py').read_text()",
                       "reading the reference solutions"),
    "kit-file": ("import coursekit.kit.exercise as e\nopen(e.__file__, 'a')", "writing "),
    "kill-grader": ("import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)", "signalling the grader"),
    "spawn": ("import subprocess\nsubprocess.run(['true'])", "subprocess.Popen from the submission's code"),
    "kit-code": ("compile('x = 1', __import__('coursekit.kit.exercise').kit.exercise.__file__, 'exec')",
                 "code that claims to be"),
    "report": ("import sys\nsys.audit('coursekit.report', 0, [['CORRECT', '', False]])",
               "a verdict reported from the submission's code"),
    "kit-name": ("import labserver, types\nlabserver.oauth = types.ModuleType('labserver.oauth')",
                 "labserver.oauth added"),
    "frame": ("import sys\nsys._getframe(0).f_back", "reading the program's frames"),
    "traceback-frame": ("try:\n    raise ValueError\nexcept ValueError as e:\n    e.__traceback__.tb_frame.f_back",
                        "reading the program's frames"),
    "inspect": ("import inspect\ninspect.stack()", "reading the program's frames"),
    "traceback-walk": ("import traceback\ntraceback.StackSummary.extract(traceback.walk_stack(None), "
                       "capture_locals=True)", "reading the program's frames"),
}

# Answers that read what the check expects from its frame instead of working it out.
PEEKING = {
    "caller's locals": "import sys\ndef cookie_flags(header):\n    f = sys._getframe(1)\n"
                       "    while 'expected' not in f.f_locals:\n        f = f.f_back\n"
                       "    return dict(f.f_locals['expected'])",
    "a generator's frame": "def cookie_flags(header):\n    def peek():\n        f = frame[0].f_back\n"
                           "        while 'expected' not in f.f_locals:\n            f = f.f_back\n"
                           "        yield dict(f.f_locals['expected'])\n    g = peek()\n"
                           "    frame = [g.gi_frame]\n    return next(g)",
}


def test_a_kit_module_first_imported_after_the_seal_without_its_cached_bytecode_is_not_flagged():
    import coursekit.pictures.crack_time as picture
    from pathlib import Path

    for cached in (Path(picture.__file__).parent / "__pycache__").glob("crack_time.*.pyc"):
        cached.unlink()  # as on a fresh install: the import compiles the file's own text after the seal
    verdict = grade(["import coursekit.pictures.crack_time", HEADER, ex01.q1.solution_source()], CELL, timeout=60)
    assert verdict.passed and not verdict.flagged, verdict
    assert not list((Path(picture.__file__).parent / "__pycache__").glob("crack_time.*.pyc.*"))


def test_a_lab_started_by_the_submissions_cells_imports_labserver_parts_without_being_flagged():
    # Starting a lab imports parts of labserver on first use (its own submodules, from the installed files).
    start = "from coursekit.labtools.lab import start_lab\nlab = start_lab('lab')\nimport labserver.oauth"
    verdict = grade([start, HEADER, ex01.q1.solution_source()], CELL, timeout=60)
    assert verdict.passed and not verdict.flagged, verdict


def test_the_right_answer_passes_in_the_sealed_process():
    verdict = grade([HEADER, ex01.q1.solution_source()], CELL, timeout=60)
    assert verdict.passed and verdict.text.startswith("✔ Correct"), verdict


@pytest.mark.parametrize("cheat", REACHING_IN, ids=list(REACHING_IN))
def test_reaching_into_the_grader_scores_nothing_and_is_named(cheat):
    code, named = REACHING_IN[cheat]
    # The right answer too: the cheat alone must cost the points.
    verdict = grade([HEADER, ex01.q1.solution_source(), f"try:\n{_indent(code)}\nexcept Exception:\n    pass"],
                    CELL, timeout=60)
    assert not verdict.passed and verdict.flagged, verdict
    assert verdict.text.startswith("✘ Flagged") and named in verdict.text, verdict


def test_the_checks_cannot_be_swapped_through_the_graders_frame():
    walk = ("import sys\nf = sys._getframe(0)\nwhile f is not None and 'graded' not in f.f_locals:\n"
            "    f = f.f_back\ntry:\n    f.f_locals['graded'][0] = ()\nexcept TypeError:\n    print('a tuple')")
    verdict = grade([HEADER, BLANK, walk], CELL, timeout=60)
    assert not verdict.passed and "reading the program's frames" in verdict.text, verdict


# A Python signal handler is handed the main thread's frame, with no audit event: installed by a cell, it once
# reached the time limit's result and set a verdict, the answer raising the time limit's own Stopped to end quietly.
SIGNAL_HANDLER = """import signal
def handler(signum, frame):
    while frame is not None:
        if isinstance(frame.f_locals.get('result'), dict) and 'worker' in frame.f_locals:
            frame.f_locals['result']['value'] = None
        frame = frame.f_back
signal.signal(signal.SIGUSR1, handler)
"""
RAISES_THE_SIGNAL = """from coursekit.kit.timelimit import Stopped
import signal, time
def cookie_flags(header):
    signal.raise_signal(signal.SIGUSR1)
    time.sleep(0.2)
    raise Stopped
"""


def test_a_signal_handler_cannot_reach_the_checks():
    verdict = grade([HEADER, SIGNAL_HANDLER, RAISES_THE_SIGNAL], CELL, timeout=60)
    assert not verdict.passed, verdict


@pytest.mark.parametrize("answer", PEEKING, ids=list(PEEKING))
def test_an_answer_that_reads_what_the_check_expects_from_its_frame_scores_nothing(answer):
    verdict = grade([HEADER, PEEKING[answer]], CELL, timeout=60)
    assert not verdict.passed and verdict.flagged, verdict
    assert "reading the program's frames" in verdict.text, verdict


def test_libraries_that_read_frames_for_their_own_work_are_not_flagged():
    # namedtuple, Enum and logging read frames inside the library; the answer gets no frame back.
    answer = ("import collections, enum, logging\n" + ex01.q1.solution_source() + "\n"
              "Flag = collections.namedtuple('Flag', 'name value')\nclass Kind(enum.Enum):\n    A = 1\n"
              "logging.getLogger('answer').warning('graded %s', Flag('a', 1))")
    verdict = grade([HEADER, answer], CELL, timeout=60)
    assert verdict.passed and not verdict.flagged, verdict


def test_a_graded_cell_that_never_returns_costs_its_own_points_and_the_next_is_graded_afresh(tmp_path):
    marker = tmp_path / "first-run"
    # The first process's answer loops forever; the fresh process started after it answers right.
    answer = (f"import pathlib\nmarker = pathlib.Path({str(marker)!r})\nfirst = not marker.exists()\n"
              f"marker.touch()\n{ex01.q1.solution_source()}\n"
              "if first:\n    def cookie_flags(header):\n        while True:\n            pass")
    late, on_time = grade_all([HEADER, answer], [CELL, GradedCell(CELL.imports, CELL.calls)], timeout=8)
    assert not late.passed and "did not finish within 8 s" in late.text, late
    assert on_time.passed, on_time


def _indent(code: str) -> str:
    return "\n".join(f"    {line}" for line in code.splitlines())


def test_a_report_that_leaves_out_a_check_of_the_cell_is_flagged_not_passed():
    from coursekit.kit.grading.grader import _verdict

    correct = ["CORRECT", "", False]
    assert _verdict({"cell": 0, "verdicts": [correct, ["CORRECT", "", True]], "tampered": []}, CELL).passed
    for verdicts in ([], [correct], [correct, correct]):
        verdict = _verdict({"cell": 0, "verdicts": verdicts, "tampered": []}, CELL)
        assert not verdict.passed and verdict.flagged, verdicts


# --- the labs a check drives -------------------------------------------------------------------------------

SESSION_ROW = graded_cell("from coursekit.exercises.ex01 import q2\nq2.assert_correct(my_session_row)")
FIND_CHECK_LAB = ("from coursekit.labtools.lab import _labs\n"
                  "def check_lab():\n    return next(lab for name, lab in _labs.items() if name.startswith('exercise-check'))\n")
DRIVING = {
    # Through the kit's handle, from the answer the check calls.
    "handle": "check_lab().clock.advance(1)",
    # Straight to the lab with its secret, no handle: seen as a gap in the lab's numbers.
    "raw": ("import requests\nlab = check_lab()\n"
            "requests.post(lab.url + '/lab/clock/advance', json={'seconds': 1}, headers={'Lab-Secret': lab.lab_secret})"),
    # From a thread the answer starts, whose frames are all the kit's.
    "thread": "import threading\nt = threading.Thread(target=check_lab().clock.advance, args=(1,))\nt.start()\nt.join()",
}


def _session_row_answer(side_effect: str) -> str:
    reference = ex01.q2.solution_source()
    return (FIND_CHECK_LAB + reference + "\nright = my_session_row\ndef my_session_row(server, session_id):\n"
            + _indent(side_effect) + "\n    return right(server, session_id)\n")


def test_an_answer_that_reads_the_tables_it_is_handed_passes():
    verdict = grade(["import hashlib", ex01.q2.solution_source()], SESSION_ROW, timeout=60)
    assert verdict.passed and not verdict.flagged, verdict


@pytest.mark.parametrize("way", DRIVING, ids=list(DRIVING))
def test_an_answer_that_drives_the_checks_lab_is_flagged(way):
    verdict = grade(["import hashlib", _session_row_answer(DRIVING[way])], SESSION_ROW, timeout=60)
    assert not verdict.passed and verdict.flagged, verdict
    assert "a lab the checks drive was driven by other code" in verdict.text, verdict


def test_a_grading_process_holds_a_key_for_its_lesson_not_the_course_secret(tmp_path):
    import hashlib
    import hmac

    from coursekit.kit.grading.grader import lesson_key

    log = tmp_path / "log"
    show = "import coursekit.kit.grading.secret_cases as cases\nprint('KEY', cases._secret, flush=True)"
    verdicts = grade_all([HEADER, ex01.q1.solution_source(), show], [CELL], timeout=60, log=log, secret="course")
    assert verdicts[0].passed, verdicts
    (line,) = [line for line in log.read_text().splitlines() if line.startswith("KEY ")]
    expected = hmac.new(b"course", b"ex01", hashlib.sha256).hexdigest()
    assert line == f"KEY {expected}" == f"KEY {lesson_key('course', CELL.imports)}"
    assert "course" not in line
