"""Lesson 10's web app: a small client of the lab's code flow, with a switch that makes it forget what ``state`` is for.

    with LessonApp(lab) as app:                 # a web server on 127.0.0.1, a free port
        app.url + "/login"                      # sends the browser to the lab's login page, with PKCE and state
        app.url + "/callback"                   # where the lab sends the browser back with the code
        app.url + "/whoami"                     # who this browser is logged in as, at the app

The app keeps each login it started (its state and PKCE verifier) and a cookie per browser. On the way back
it must make sure the code comes to **the browser that started that login**: ``state`` is the check (RFC 6749
§10.12, RFC 9700 §4.7). ``LessonApp(lab, check_state=False)`` is the DELIBERATELY VULNERABLE client of the
lesson: it looks the login up by state, whichever browser brings it, so a link with the attacker's own code
logs the victim's browser in as the attacker (login CSRF). It serves loopback only.
"""

from __future__ import annotations

import html
import secrets
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from coursekit.labtools.client import http_session
from coursekit.labtools.codeflow.steps import CLIENT_ID, authorization_url, redeem, s256

__all__ = ["LessonApp", "says"]

COOKIE = "app"


def says(page) -> str:
    """What a page of the app says (its one line of text), from a requests response."""
    return html.unescape(page.text.split("<p id=result>", 1)[-1].split("</p>", 1)[0])


class LessonApp:
    """A client of the lab's code flow: /login, /callback and /whoami, one cookie per browser."""

    def __init__(self, lab, *, check_state: bool = True) -> None:
        self.lab, self.check_state = lab, check_state
        self.pending: dict[str, tuple[str, str]] = {}  # state -> (browser's cookie, PKCE verifier)
        self.logged_in: dict[str, dict] = {}           # browser's cookie -> {"username": ..., tokens}
        self._lock = threading.Lock()
        self.http = http_session()  # the app's own connection to the lab (its server side)
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                browser = SimpleCookie(self.headers.get("Cookie", "")).get(COOKIE)
                browser = browser.value if browser else None
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                routes = {"/login": app._login, "/callback": app._callback, "/whoami": app._whoami}
                if parts.path not in routes:
                    self._answer(404, "not here")
                    return
                status, text, headers, browser = routes[parts.path](browser, query)
                self._answer(status, text, headers, browser)

            def _answer(self, status: int, text: str, headers: dict | None = None, browser: str | None = None):
                body = (f"<!doctype html><title>Lesson app</title><p id=result>{html.escape(text)}</p>"
                        if text else "").encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if browser:
                    self.send_header("Set-Cookie", f"{COOKIE}={browser}; HttpOnly; SameSite=Lax; Path=/")
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep notebook outputs clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.redirect_uri = self.url + "/callback"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="lesson-app").start()

    # --- the three pages ------------------------------------------------------------------------------

    def _login(self, browser: str | None, _query: dict):
        """Start a login: a state and a PKCE verifier for this browser, then off to the lab's login page."""
        browser = browser or secrets.token_urlsafe(16)
        state, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        with self._lock:
            self.pending[state] = (browser, verifier)
        url = authorization_url(self.lab, self.redirect_uri, state, s256(verifier))
        return 303, "", {"Location": url}, browser

    def _callback(self, browser: str | None, query: dict):
        """Finish a login: find the login this code belongs to, redeem the code, remember who logged in."""
        if "error" in query:
            return 400, f"the lab refused the login: {query['error']}: {query.get('error_description', '')}", {}, None
        with self._lock:
            started = self.pending.get(query.get("state", ""))
            if self.check_state:
                # The fix: the login must have been started by THIS browser, and is used up here.
                if started is None or started[0] != browser:
                    return 400, "state does not match a login this browser started: refused", {}, None
                del self.pending[query["state"]]
            # DELIBERATELY VULNERABLE (check_state=False): the login is looked up by state alone, whichever
            # browser brings the code, and stays usable.
            elif started is None:
                return 400, "unknown login", {}, None
        answer = redeem(self.lab, query.get("code", ""), self.redirect_uri, started[1], CLIENT_ID, self.http)
        if answer.status_code != 200:
            return 400, f"the token endpoint said {answer.json().get('error_description')}", {}, None
        tokens = answer.json()
        me = self.http.get(self.lab.url + "/api/me", timeout=10,
                               headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
        browser = browser or secrets.token_urlsafe(16)
        with self._lock:
            self.logged_in[browser] = {"username": me["username"], **tokens}
        return 200, f"logged in as {me['username']}", {}, browser

    def _whoami(self, browser: str | None, _query: dict):
        login = self.logged_in.get(browser or "")
        return 200, f"logged in as {login['username']}" if login else "not logged in", {}, None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.http.close()

    def __enter__(self) -> "LessonApp":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
