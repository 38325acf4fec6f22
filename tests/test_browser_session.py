"""One Chromium for many runs (lesson 08): launched once per set of flags, a fresh profile per run, nothing left.

Like tests/test_browser.py, these skip without a browser and fail under CI without one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from coursekit.labtools.browser import Attacker, Chromium
from coursekit.labtools.lab import start_lab
from coursekit.labtools.tls import make_local_pki


def descendants() -> set[int]:
    """Every process started, directly or not, by this one."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        children = {child for child, parent in parents.items() if parent == pid}
        todo.extend(children - found)
        found |= children
    return found


def facts(results: dict) -> dict:
    """The scenario's results with each token the page got written as "<token>" (its jti differs per run)."""
    text = json.dumps(results, sort_keys=True)
    for outcome in results.values():
        if outcome.get("token the page got"):
            text = text.replace(outcome["token the page got"], "<token>")
    return json.loads(text)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc (Linux)")
def test_one_chromium_serves_every_run_with_a_fresh_profile_and_leaves_no_process(chromium, tmp_path):
    pki = make_local_pki(tmp_path)
    # The page without its Content-Security-Policy (DELIBERATELY VULNERABLE): the scenario's injected script runs.
    page = start_lab("browser-session-test", page_csp=False)
    tls = start_lab("browser-session-tls-test", tls=pki)
    before = descendants()
    try:
        with Attacker() as attacker, Chromium(chromium) as browser:
            first = browser.scenario(page, attacker)
            trusted = browser.tls_login(tls, pki.cert)
            untrusted = browser.tls_login(tls, None)
            # The same scenario again in the same browser: the second run starts from a clean profile, so
            # it sees no cookie, no storage and no HSTS left by the first.
            second = browser.scenario(page, attacker)
            assert browser.launches == 2  # one without the certificate pin, one with it; not one per run
            assert descendants() - before  # the browser and its driver are running
        left = descendants() - before
    finally:
        page.stop()
        tls.stop()
    assert facts(second) == facts(first)
    assert first["cookie"]["cookies as stored"] == [
        {"name": "session", "httpOnly": True, "secure": False, "sameSite": "Strict", "path": "/"}]
    assert trusted["loaded"] and trusted["cookies as stored"][0]["name"] == "__Host-session"
    assert untrusted == {"loaded": False, "error": "ERR_CERT_AUTHORITY_INVALID"}
    assert left == set(), f"still running after the with block: {left}"


def test_a_closed_chromium_refuses_to_run(chromium):
    browser = Chromium(chromium)
    browser.close()
    browser.close()  # closing twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        browser.scenario(None, None)
