"""Lesson 08's browser scenario in a real headless Chromium: what an injected script reaches, what SameSite stops.

    with Attacker() as attacker, Chromium() as chromium:   # the attacker's own server, another site
        results = chromium.scenario(lab, attacker)          # the lab page, three login modes
        trusted = chromium.tls_login(tls_lab, pki.cert)     # the page over HTTPS, its key pinned
    print_scenario(results)

The lab page is opened as ``http://localhost:<lab port>/app/``; the attacker's server answers on 127.0.0.1,
which to a browser is another *site* (ports never count for sites), and on ``localhost:<other port>``, which
is the same site but another *origin*. The attacker serves the injected script (``coursekit/labtools/web/xss.js``),
collects what it sends, and serves a page with a form that posts to the lab.

Chromium comes from the system's packages (Debian: ``apt-get install chromium chromium-driver``) and is
driven by Playwright, pointed at that executable: nothing is downloaded, ``playwright install`` is never
needed. One ``Chromium`` starts Playwright's driver once and launches a browser per set of command-line
flags, when first needed; every run gets a fresh browser context, Chromium's own clean profile (no cookies,
no storage, no history, no certificate decisions), so runs cannot see each other, and launching is paid
once per lesson instead of once per run. Everything closes when the ``with`` block ends.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from coursekit.labtools.attacker_site import Attacker, page_link, start_attacker

__all__ = ["find_browser", "Chromium", "Attacker", "start_attacker", "page_link", "print_scenario", "print_tls_login",
           "print_injection", "INSTALL_HINT", "CHROMIUM_FLAGS"]

INSTALL_HINT = ("install Chromium from your system's packages (Debian/Ubuntu: sudo apt-get install chromium "
                "chromium-driver) and Playwright from PyPI (pip install playwright); never run `playwright "
                "install`, the system's Chromium is used")
# Headless, no sandbox (it needs user namespaces that root and containers often lack), and quiet: no
# first-run page, no background downloads, no updates, no sync. Only loopback traffic is generated.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# chromium-browser last: on Ubuntu it is often a shim for a snap that cannot run here.
_CANDIDATES = ("chromium", "google-chrome", "google-chrome-stable", "chromium-browser")


def find_browser() -> tuple[str | None, str]:
    """The Chromium executable to use and "", or None and why none can be used (with how to install one)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None, f"Playwright is not installed: {INSTALL_HINT}"
    wanted = os.environ.get("COURSE_CHROMIUM")
    for name in ([wanted] if wanted else _CANDIDATES):
        path = shutil.which(name)
        if path:
            return path, ""
    return None, f"no Chromium found on this machine: {INSTALL_HINT}"


# --- the scenario -----------------------------------------------------------------------------------

MODES = {"cookie": "#login-cookie", "localStorage": "#login-storage", "memory": "#login-memory"}


class Chromium:
    """A headless Chromium for several runs: ``with Chromium() as chromium: chromium.scenario(lab, attacker)``.

    Playwright's synchronous API refuses to run where an event loop is running (a Jupyter kernel), so the
    browser is driven from a thread of its own, the same thread for every call.
    """

    def __init__(self, executable: str | None = None, timeout: float = 15.0) -> None:
        if executable is None:
            executable, reason = find_browser()
            if executable is None:
                raise RuntimeError(reason)
        self.executable, self.timeout = executable, timeout
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright = None
        self._browsers: dict[tuple[str, ...], object] = {}
        self.launches = 0  # browsers launched so far: one per set of extra flags, however many runs

    def scenario(self, lab, attacker: Attacker) -> dict:
        """Run every part of the scenario, one fresh context per login mode; return what happened, part by part."""
        return self._run(lambda: _drive(self._browser(), lab, attacker, self.timeout))

    def injection(self, lab, attacker: Attacker) -> dict:
        """Run the page's injected script once, logged in with localStorage: did it run, or did the policy block it?"""
        return self._run(lambda: _blocked_injection(self._browser(), lab, attacker, self.timeout))

    def tls_login(self, lab, cert_path: str | None) -> dict:
        """Open the lab page over HTTPS, log in with the session cookie, and return what the browser stored.

        A fresh profile knows only the system's CAs, not the course CA. ``cert_path`` makes Chromium accept
        exactly that server certificate's public key (``--ignore-certificate-errors-spki-list``, a flag of the
        browser's command line: any other certificate error still fails); with ``None`` the run happens in a
        browser without that flag, which must refuse the page.
        """
        pin = [f"--ignore-certificate-errors-spki-list={spki_pin(cert_path)}"] if cert_path else []
        return self._run(lambda: _drive_tls(self._browser(*pin), lab.port, self.timeout))

    def drive(self, work, *flags: str):
        """Run ``work(browser, timeout)`` on the browser's thread (a browser launched with ``flags``); return its result."""
        return self._run(lambda: work(self._browser(*flags), self.timeout))

    def _run(self, work):
        if self._thread is None:
            raise RuntimeError("this Chromium is closed")
        return self._thread.submit(work).result()

    def _browser(self, *flags: str):
        """The browser launched with these extra flags (launched now if it is the first run that needs them)."""
        if flags not in self._browsers:
            if self._playwright is None:
                from playwright.sync_api import sync_playwright

                self._playwright = sync_playwright().start()
            self._browsers[flags] = self._playwright.chromium.launch(
                executable_path=self.executable, args=CHROMIUM_FLAGS + list(flags), timeout=self.timeout * 1000)
            self.launches += 1
        return self._browsers[flags]

    def close(self) -> None:
        """Close every browser and the driver, and end the thread."""
        if self._thread is None:
            return
        try:
            self._thread.submit(self._close_all).result()
        finally:
            self._thread.shutdown()
            self._thread = None

    def _close_all(self) -> None:
        try:
            for browser in self._browsers.values():
                browser.close()
        finally:
            self._browsers.clear()
            if self._playwright is not None:
                self._playwright.stop()
                self._playwright = None

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _drive(browser, lab, attacker: Attacker, timeout: float) -> dict:
    lab_origin = f"http://localhost:{lab.port}"
    page_url = page_link(lab, attacker)
    results: dict = {}
    for mode, button in MODES.items():
        context = browser.new_context()
        context.set_default_timeout(timeout * 1000)
        page = context.new_page()
        page.goto(page_url)
        attacker.take()
        login = _click(page, button)
        token = (login["body"] or {}).get("access_token")
        outcome = {"logged in": login["status"] == 200, "page's API call": _click(page, "#call")["status"],
                   "token the page got": token}
        page.click("#inject")
        page.wait_for_selector("body[data-injected='sent']", state="attached")
        (found,) = [m for m in attacker.take() if "page" in m]
        outcome["script read document.cookie"] = found["document.cookie"]
        outcome["script read localStorage"] = found["localStorage"]
        outcome["script's own GET /session/me"] = found["GET /session/me from the script"]
        outcome["token sent at once"] = bool(token) and token in json.dumps(found)
        _click(page, "#call")  # the page's own next call, watched by the injected script
        later = attacker.take()
        outcome["token sent on the page's next call"] = bool(token) and token in json.dumps(later)
        outcome["cookies as stored"] = [
            {k: c[k] for k in ("name", "httpOnly", "secure", "sameSite", "path")}
            for c in context.cookies()]
        if mode == "cookie":
            results["cross-site"] = _cross_site(page, lab, lab_origin, attacker)
        if mode == "localStorage":
            results["bearer"] = _bearer_form(context, lab_origin, attacker)
        results[mode] = outcome
        context.close()
    return results


def _click(page, selector: str) -> dict:
    """Click a button of the lab page and return the answer it puts on screen."""
    before = int(page.evaluate("document.body.dataset.ready || '0'"))
    page.click(selector)
    # A selector, not a JavaScript condition: the page's Content-Security-Policy forbids evaluating strings.
    page.wait_for_selector(f"body[data-ready='{before + 1}']", state="attached")
    return json.loads(page.inner_text("#result"))


def _submit_from(context, attacker_origin: str, action: str, method: str = "post") -> dict:
    """Open the attacker's form page on ``attacker_origin``; return the status and answer of the lab's reply."""
    page, url = context.new_page(), f"{attacker_origin}/cross-site?method={method}&action=" + quote(action, safe="")
    with page.expect_response(lambda r: r.url.split("?")[0] == action) as info:
        page.goto(url)
    response = info.value
    # The headers as the browser really sent them (Cookie included, which only the browser decides to add).
    cookie = response.request.all_headers().get("cookie", "")
    answer = {"status": response.status, "body": response.json(), "cookie sent": "session=" in cookie}
    page.close()
    return answer


def _cross_site(page, lab, lab_origin: str, attacker: Attacker) -> dict:
    """A form posted to /session/logout from another site, then from the same site on another port.

    The first arrives without the cookie (SameSite=Strict), the second with it (a same-site request); the
    server refuses both (their Origin is not the page's), and its refusal sets no cookie: the session
    survives in the store, and the cookie in the browser (no forced logout).
    """
    sessions = len(lab.table("sessions"))
    other_site = _submit_from(page.context, attacker.url("127.0.0.1"), lab_origin + "/session/logout")
    same_site = _submit_from(page.context, attacker.url("localhost"), lab_origin + "/session/logout")
    return {"from another site (127.0.0.1)": other_site["body"],
            "from the same site, another origin (localhost, other port)": same_site["body"],
            "cookie sent from another site": other_site["cookie sent"],
            "cookie sent from the same site": same_site["cookie sent"],
            "session survived both": len(lab.table("sessions")) == sessions,
            "cookie kept by the browser": [c["name"] for c in page.context.cookies()] == ["session"]}


def _blocked_injection(browser, lab, attacker: Attacker, timeout: float) -> dict:
    """Open the lab page with the injected script named, run it, and report what the policy did to it."""
    context = browser.new_context()
    try:
        context.set_default_timeout(timeout * 1000)
        page = context.new_page()
        response = page.goto(page_link(lab, attacker))
        attacker.take()
        _click(page, "#login-storage")
        # The browser reports a refused load as a "securitypolicyviolation" event; a script that runs says "sent".
        page.evaluate("""() => { window.outcome = new Promise((done) => {
            document.addEventListener("securitypolicyviolation",
                (e) => done({blocked: e.blockedURI, directive: e.effectiveDirective}), {once: true});
            new MutationObserver(() => document.body.dataset.injected === "sent" && done({ran: true}))
                .observe(document.body, {attributes: true}); }); }""")
        page.click("#inject")
        outcome = page.evaluate("window.outcome")
        return {"policy": response.headers.get("content-security-policy"), "script ran": bool(outcome.get("ran")),
                "blocked": outcome.get("blocked"), "directive": outcome.get("directive"),
                "sent to the attacker": attacker.take()}
    finally:
        context.close()


def _bearer_form(context, lab_origin: str, attacker: Attacker) -> dict:
    """A form sent to the bearer-protected /api/me from another site, while the token sits in localStorage."""
    answer = _submit_from(context, attacker.url("127.0.0.1"), lab_origin + "/api/me", method="get")
    return {"status": answer["status"], "error": answer["body"].get("error"),
            "error_description": answer["body"].get("error_description")}


def print_scenario(results: dict) -> None:
    """Print the scenario's results as the lesson shows them: one line per login mode, then the forms."""
    yes_no = {True: "yes", False: "no"}
    print(f"{'where the login lives':<22}{'script reads it':<17}{'sent away at once':<19}"
          f"{'sent on next call':<19}{'script acts as user'}")
    for mode in MODES:
        r = results[mode]
        if mode == "cookie":
            readable = "yes" if r["script read document.cookie"] else "no (HttpOnly)"
        else:
            readable = yes_no["access_token" in r["script read localStorage"]]
        acts = {200: "yes (200)", 401: "no (401)"}.get(r["script's own GET /session/me"],
                                                     str(r["script's own GET /session/me"]))
        if mode != "cookie":
            acts = "yes, with the token" if (readable == "yes" or r["token sent on the page's next call"]) else acts
        later = yes_no[r["token sent on the page's next call"]]
        print(f"{mode:<22}{readable:<17}{yes_no[r['token sent at once']]:<19}{later:<19}{acts}")
    print()
    for c in results["cookie"]["cookies as stored"]:
        print(f"cookie as the browser stored it: {c['name']}  HttpOnly={c['httpOnly']}  Secure={c['secure']}  "
              f"SameSite={c['sameSite']}  Path={c['path']}")
    cs = results["cross-site"]
    for where, key, sent in (("another site:       ", "from another site (127.0.0.1)", "cookie sent from another site"),
                             ("the same site (port):", "from the same site, another origin (localhost, other port)",
                              "cookie sent from the same site")):
        answer = cs[key]
        print(f"form POST /session/logout from {where} cookie sent: {yes_no[cs[sent]]:<4}"
              f"answer: {answer.get('error', answer)}")
    print(f"after both: session survived: {yes_no[cs['session survived both']]}, "
          f"cookie kept by the browser: {yes_no[cs['cookie kept by the browser']]}")
    b = results["bearer"]
    print(f"form GET /api/me from another site (token in localStorage): {b['status']} {b['error']}")


def print_injection(without_policy: dict, with_policy: dict) -> None:
    """Print the injected script's fate on the page without its Content-Security-Policy, then with it."""
    for label, run in (("without the policy (--no-csp)", without_policy), ("with the policy (default)", with_policy)):
        sent = [key for message in run["sent to the attacker"] for key in message]
        print(f"{label}: script ran: {'yes' if run['script ran'] else 'no'}; blocked by: "
              f"{run['directive'] or '-'}; sent to the attacker: {', '.join(sent) or 'nothing'}")


# --- the page over HTTPS ------------------------------------------------------------------------------

def spki_pin(cert_path: str) -> str:
    """base64 SHA-256 of a certificate's public key (SubjectPublicKeyInfo), as Chromium's pin flag wants it."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_pem_x509_certificate(Path(cert_path).read_bytes()).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _drive_tls(browser, port: int, timeout: float) -> dict:
    from playwright.sync_api import Error
    context = browser.new_context()
    try:
        context.set_default_timeout(timeout * 1000)
        page = context.new_page()
        try:
            response = page.goto(f"https://localhost:{port}/app/")
        except Error as error:
            refused = re.search(r"net::(ERR_[A-Z_]+)", str(error))
            return {"loaded": False, "error": refused.group(1) if refused else str(error)}
        login = _click(page, "#login-cookie")
        return {"loaded": True, "login": login["status"],
                "hsts": response.headers.get("strict-transport-security"),
                "document.cookie": page.evaluate("document.cookie"),
                "cookies as stored": [{k: c[k] for k in ("name", "httpOnly", "secure", "sameSite", "path")}
                                      for c in context.cookies()]}
    finally:
        context.close()


def print_tls_login(trusted: dict, untrusted: dict) -> None:
    """Print the HTTPS run: the refused page without trust, the stored cookie with it."""
    print("over HTTPS, a browser that does not know the lab's certificate:", untrusted.get("error"))
    for c in trusted["cookies as stored"]:
        print(f"over HTTPS, the cookie as the browser stored it: {c['name']}  HttpOnly={c['httpOnly']}  "
              f"Secure={c['secure']}  SameSite={c['sameSite']}  Path={c['path']}")
    print("over HTTPS, document.cookie as the page reads it:", repr(trusted["document.cookie"]))
