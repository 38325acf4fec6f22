"""Lesson 10's pieces of the authorization code flow, each a few lines to read: PKCE, the authorization URL, the
login page's form, and a local callback that catches the redirect.

    verifier, challenge = pkce_pair()
    with Callback() as callback:                       # listens on 127.0.0.1, a free port
        url = authorization_url(lab, callback.redirect_uri, state, challenge)
        location = log_in_at_page(browser, url, "alice")   # what the login page sends the browser to
        browser.get(location)                            # the browser follows: the callback catches it
        callback.caught                                   # {"code": ..., "state": ..., "iss": ...}
    tokens = redeem(lab, callback.caught["code"], callback.redirect_uri, verifier)

A native app (a notebook, a command-line tool) receives the code this way: it listens on a loopback port
for the one redirect (RFC 8252 §7.3), any port the system gives it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

__all__ = ["pkce_pair", "s256", "authorization_url", "hidden_fields", "log_in_at_page", "Callback", "redeem",
           "query_of", "code_for", "CLIENT_ID", "LOOPBACK"]

CLIENT_ID = "jwt-course"  # the lab's registered client for loopback redirect URIs
LOOPBACK = "http://127.0.0.1:8765/callback"  # a redirect URI of that client (any port is accepted)


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier: BASE64URL(SHA256(verifier)), without padding (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE code verifier (43 characters from 32 random bytes) and its S256 challenge."""
    verifier = secrets.token_urlsafe(32)
    return verifier, s256(verifier)


def authorization_url(lab, redirect_uri: str, state: str | None, challenge: str | None, method: str = "S256",
                      client_id: str = CLIENT_ID, **extra: str) -> str:
    """The URL an app sends the browser to, to ask the lab for a code (RFC 6749 §4.1.1, RFC 7636 §4.3)."""
    parameters = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state,
                  "code_challenge": challenge, "code_challenge_method": method if challenge else None, **extra}
    return lab.url + "/oauth/authorize?" + urlencode({k: v for k, v in parameters.items() if v is not None})


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs) -> None:
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs.get("name", "")] = attrs.get("value", "")


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden fields of the login page's form: the authorization request, carried to the POST."""
    parser = _Form()
    parser.feed(page)
    return parser.fields


def log_in_at_page(browser: requests.Session, url: str, username: str, password: str | None = None) -> str:
    """Open the login page at ``url``, submit it as a browser would, and return where the server sends the
    browser next (the ``Location`` of its 303), without going there. A page that answers without redirecting
    (an error shown, a wrong password) raises ValueError with the page's message."""
    page = browser.get(url, timeout=10, allow_redirects=False)
    if page.status_code == 303:  # an error the lab sends straight back to the redirect URI, before any login
        return page.headers["location"]
    if page.status_code != 200:
        raise ValueError(f"the login page answered {page.status_code}: {_page_text(page.text)}")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    answer = browser.post(origin + "/oauth/authorize", timeout=10, allow_redirects=False, data={
        **hidden_fields(page.text), "username": username, "password": password or f"{username}-password"})
    if answer.status_code != 303:
        raise ValueError(f"the login page answered {answer.status_code}: {_page_text(answer.text)}")
    return answer.headers["location"]


def _page_text(page: str) -> str:
    class Text(HTMLParser):
        parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    text = Text()
    text.parts = []
    text.feed(page)
    return " ".join(" ".join(text.parts).split())


def code_for(lab, username: str, challenge: str | None, method: str = "S256", redirect_uri: str = LOOPBACK,
             state: str = "st") -> dict[str, str]:
    """Log ``username`` in at the lab's page for this challenge; return what the redirect back carries (the code,
    or the error), without following it: nothing needs to listen at ``redirect_uri``."""
    browser = requests.Session()
    browser.trust_env = False
    with browser:
        return query_of(log_in_at_page(browser, authorization_url(lab, redirect_uri, state, challenge, method),
                                       username))


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL, as a dict (what a callback receives)."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def redeem(lab, code: str, redirect_uri: str, verifier: str | None, client_id: str = CLIENT_ID,
           session: requests.Session | None = None) -> requests.Response:
    """Exchange a code for tokens at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.5); return the answer."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": client_id}
    if verifier is not None:
        form["code_verifier"] = verifier
    return (session or lab.http).post(lab.url + "/oauth/token", data=form, timeout=10)


class Callback:
    """A one-page web server on 127.0.0.1 that catches the redirect back from the login page.

    ``redirect_uri`` is its address; ``caught`` is the query of the last request it received (``{}`` before
    any), and ``wait()`` waits for one. It answers the browser with a short page saying it may be closed.
    """

    def __init__(self, path: str = "/callback") -> None:
        self.caught: dict[str, str] = {}
        self._arrived = threading.Event()
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != path:
                    self._answer(404, b"not here")
                    return
                callback.caught = dict(parse_qsl(parts.query, keep_blank_values=True))
                callback._arrived.set()
                self._answer(200, b"<!doctype html><title>Done</title><p id=done>The app has the answer. "
                                  b"You can close this tab.</p>")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")  # the code is in this page's URL
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep notebook outputs clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}{path}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="callback").start()

    def wait(self, timeout: float = 10.0) -> dict[str, str]:
        """Wait for the redirect to arrive; return its query parameters."""
        if not self._arrived.wait(timeout):
            raise TimeoutError("no redirect reached the callback")
        self._arrived.clear()
        return self.caught

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Callback":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
