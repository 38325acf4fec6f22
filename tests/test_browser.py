"""Lesson 08's browser scenario in a real headless Chromium (the system's, driven by Playwright).

Without a browser these tests skip, saying how to install one; with CI set they fail instead, so a CI
machine without Chromium cannot pass by skipping them.
"""

from __future__ import annotations

import pytest

from coursekit.labtools.browser import Attacker, Chromium, find_browser
from coursekit.labtools.tls import make_local_pki
from coursekit.labtools.lab import start_lab


@pytest.fixture(scope="module")
def browser(chromium):
    """One browser session for the module's runs, as lesson 08 uses it."""
    with Chromium(chromium) as browser:
        yield browser


@pytest.fixture(scope="module")
def scenario(browser):
    lab = start_lab("browser-test", page_csp=False)  # DELIBERATELY VULNERABLE: the injected script may run
    try:
        with Attacker() as attacker:
            results = browser.scenario(lab, attacker)
        # What a stolen token is worth: it works from anywhere, without the browser.
        token = results["localStorage"]["token the page got"]
        results["stolen token used elsewhere"] = lab.http.get(
            lab.url + "/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["username"]
        yield results
    finally:
        lab.stop()


def test_every_mode_logs_in_and_calls_the_api(scenario):
    for mode in ("cookie", "localStorage", "memory"):
        assert scenario[mode]["logged in"] is True, mode
        assert scenario[mode]["page's API call"] == 200, mode


def test_the_browser_stores_the_session_cookie_httponly_and_samesite_strict(scenario):
    assert scenario["cookie"]["cookies as stored"] == [
        {"name": "session", "httpOnly": True, "secure": False, "sameSite": "Strict", "path": "/"}]
    assert scenario["localStorage"]["cookies as stored"] == []
    assert scenario["memory"]["cookies as stored"] == []


def test_an_injected_script_cannot_read_the_httponly_cookie_but_can_use_it(scenario):
    cookie = scenario["cookie"]
    assert cookie["script read document.cookie"] == ""
    assert cookie["script read localStorage"] == {}
    assert cookie["script's own GET /session/me"] == 200  # the browser attached the cookie for the script
    assert cookie["token the page got"] is None
    assert cookie["token sent at once"] is False and cookie["token sent on the page's next call"] is False


def test_an_injected_script_reads_the_localstorage_token_and_sends_it_away(scenario):
    stored = scenario["localStorage"]
    assert stored["token the page got"].count(".") == 2
    assert stored["script read localStorage"] == {"access_token": stored["token the page got"]}
    assert stored["token sent at once"] is True
    assert scenario["stolen token used elsewhere"] == "alice"
    assert stored["script's own GET /session/me"] == 401  # no cookie in this mode


def test_an_in_memory_token_is_not_readable_but_leaks_on_the_pages_next_call(scenario):
    memory = scenario["memory"]
    assert memory["script read localStorage"] == {} and memory["script read document.cookie"] == ""
    assert memory["token sent at once"] is False
    assert memory["token sent on the page's next call"] is True


def test_a_form_posted_to_logout_from_another_site_or_origin_is_refused_and_leaves_the_cookie(scenario):
    """Forced logout: the attacker's auto-posted forms, beside the page's own logout (which works: test above)."""
    cross = scenario["cross-site"]
    refused = {"error": "forbidden",
               "error_description": "cross-site request refused: send it from this server's own pages, or not from "
                                    "a browser"}
    assert cross["from another site (127.0.0.1)"] == refused  # arrived without the cookie (SameSite=Strict)
    # localhost:<other port> is another origin but the same site: the Strict cookie went along; Origin is refused.
    assert cross["from the same site, another origin (localhost, other port)"] == refused
    assert cross["cookie sent from another site"] is False and cross["cookie sent from the same site"] is True
    assert cross["session survived both"] is True
    assert cross["cookie kept by the browser"] is True


def test_the_content_security_policy_blocks_the_injected_script_that_runs_without_it(browser):
    """The same injection on the page without its policy (the lab's vulnerable mode) and with it (the default)."""
    with Attacker() as attacker:
        runs = {}
        for csp in (False, True):
            lab = start_lab(f"browser-csp-{csp}", page_csp=csp)
            try:
                runs[csp] = browser.injection(lab, attacker)
            finally:
                lab.stop()
    without, with_policy = runs[False], runs[True]
    assert without["policy"] is None and without["script ran"] is True
    assert any("access_token" in str(message.get("localStorage")) for message in without["sent to the attacker"])
    assert with_policy["policy"].startswith("default-src 'none'; script-src 'self'")
    assert with_policy["script ran"] is False
    assert with_policy["directive"] == "script-src-elem"
    assert with_policy["blocked"] == attacker.url() + "/xss.js"
    assert with_policy["sent to the attacker"] == []


def test_a_cross_site_form_never_carries_a_bearer_token(scenario):
    assert scenario["bearer"] == {"status": 401, "error": "missing_token",
                                  "error_description": "this route needs an access token: Authorization: Bearer <token>"}


def test_without_a_browser_the_reason_says_how_to_install_one(monkeypatch):
    monkeypatch.setenv("COURSE_CHROMIUM", "no-such-browser-here")
    executable, reason = find_browser()
    assert executable is None
    assert "apt-get install chromium chromium-driver" in reason and "pip install playwright" in reason


def test_over_https_the_browser_stores_a_host_prefixed_secure_cookie_and_refuses_an_unknown_certificate(
        browser, tmp_path):
    pki = make_local_pki(tmp_path)
    lab = start_lab("browser-tls-test", tls=pki)
    try:
        trusted = browser.tls_login(lab, pki.cert)
        untrusted = browser.tls_login(lab, None)
    finally:
        lab.stop()
    assert trusted["loaded"] and trusted["login"] == 200
    assert trusted["cookies as stored"] == [
        {"name": "__Host-session", "httpOnly": True, "secure": True, "sameSite": "Strict", "path": "/"}]
    assert trusted["document.cookie"] == ""
    assert trusted["hsts"] == "max-age=300"
    assert untrusted == {"loaded": False, "error": "ERR_CERT_AUTHORITY_INVALID"}
