"""Lesson 08 has teeth: a server whose session cookie stops being Secure over HTTPS fails the lesson under nbval."""

from __future__ import annotations

import re
import shutil

from test_harness_teeth import ROOT, run_nbval

LESSON = ROOT / "notebooks" / "08-https-and-the-browser.ipynb"


def test_a_cookie_that_lost_secure_over_tls_fails_lesson_08(tmp_path):
    planted = tmp_path / "planted"
    shutil.copytree(ROOT / "labserver", planted / "labserver", ignore=shutil.ignore_patterns("__pycache__"))
    routes = planted / "labserver" / "routes" / "sessions.py"
    original = routes.read_text()
    changed = original.replace('secure=lab.settings.uses_tls, path="/")', 'secure=False, path="/")', 1)
    assert changed != original, "the plant no longer applies: update this test with labserver/routes/sessions.py"
    routes.write_text(changed)

    # The kernel and the lab servers it starts import labserver from PYTHONPATH first: the planted copy.
    outcomes, report = run_nbval(tmp_path, LESSON, env={"PYTHONPATH": str(planted)})

    failed = [test for test, status in outcomes.items() if status == "FAILED"]
    assert failed, report
    # The cookie cell's diff: the stored output (+) has "; Secure" where the planted server sent none.
    assert re.search(r"^\s*\+ .*strict; Secure$", report, re.MULTILINE), report
