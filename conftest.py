"""nbval and the lessons' headless-browser cells (08, 10): skipped, with the reason, on a machine without a browser.

At the repository's root so that it also applies when one notebook is checked alone
(``pytest notebooks/08-https-and-the-browser.ipynb``); tests/conftest.py holds the tests' fixtures.

A cell tagged ``browser`` runs a real headless Chromium and its stored output is what Chromium showed.
Where no browser can be used, such a cell is skipped (the reason says how to install one), except under CI,
where it runs and fails: a CI machine must not pass by lacking the browser.

Every test run, notebooks included, leaves the learner's progress file (coursekit.kit.progress) alone: kernels
that nbval and the harness start inherit this environment, so a lesson run with its solutions filled in
records nothing in anyone's home folder.

Seeded labs use the published values (``LABSERVER_SEED_SALT=published``), the ones stored in the notebooks,
not a per-user salt: a learner's own runs differ from the stored outputs, the test run must not.

The lab servers' shared fork server (labserver.launch.sharedforkserver) waits 10 s for more work, not the learner's
5 minutes: a test run, including the copies of the server the teeth tests plant, leaves nothing running for long.
"""

from __future__ import annotations

import os

import pytest

os.environ["JWT_COURSE_PROGRESS"] = "off"
# Seeded labs give the values the notebooks' stored outputs show (labserver.control.randomness): no per-user salt.
os.environ["LABSERVER_SEED_SALT"] = "published"
os.environ.setdefault("LABSERVER_FORKSERVER_IDLE", "10")


def pytest_collection_modifyitems(config, items):
    cells = [item for item in items if "browser" in getattr(item, "cell", {}).get("metadata", {}).get("tags", [])]
    if not cells or os.environ.get("CI"):
        return
    from coursekit.labtools.browser import find_browser

    executable, reason = find_browser()
    if executable is None:
        for item in cells:
            item.add_marker(pytest.mark.skip(reason=f"a lesson's browser cell: {reason}"))
