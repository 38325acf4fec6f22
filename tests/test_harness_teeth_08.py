"""Lesson 08 has teeth: a server whose session cookie stops being Secure over HTTPS fails the lesson under nbval."""

from __future__ import annotations

import re

from test_harness_teeth import ROOT, planted_server, run_nbval

LESSON = ROOT / "notebooks" / "08-https-and-the-browser.ipynb"


def test_a_cookie_that_lost_secure_over_tls_fails_lesson_08(tmp_path):
    planted = planted_server(tmp_path, "web/routes/sessions.py",
                             'secure=lab.settings.uses_tls, path="/")', 'secure=False, path="/")')
    outcomes, report = run_nbval(tmp_path, LESSON, env={"PYTHONPATH": str(planted)})

    failed = [test for test, status in outcomes.items() if status == "FAILED"]
    assert failed, report
    # The cookie cell's diff: the stored output (+) has "; Secure" where the planted server sent none.
    assert re.search(r"^\s*\+ .*strict; Secure$", report, re.MULTILINE), report
