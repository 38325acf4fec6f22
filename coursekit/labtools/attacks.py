"""Tools for lesson 06's attacks: build tokens by hand, host a JWK Set on loopback, read the server's flaws.

    forged = hs256_by_hand({"alg": "HS256", "typ": "at+jwt", "kid": kid}, claims, b"")   # any secret, even b""
    with serve_jwks({"keys": [my_jwk]}) as url: ...                                    # http://127.0.0.1:<port>/...
    show_flaw("alg-none")                                       # the marked lines of the lab server, from its source

Everything here talks to this machine only.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import hashlib
import hmac
import inspect
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import labserver

__all__ = ["b64url", "b64url_json", "hs256_by_hand", "serve_jwks", "show_flaw", "show_source", "wordlist",
           "FLAW_MODULES"]

# Where the lab server's flaws live, in reading order.
FLAW_MODULES = ("labserver.tokens.access", "labserver.tokens.keys", "labserver.tokens.keysources",
                "labserver.oauth.clients", "labserver.oauth.pkce", "labserver.oauth.codes")
_MARKER = re.compile(r'# DELIBERATELY VULNERABLE \(lab flaw "([a-z-]+)"\):')


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2), as text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value) -> str:
    """A JSON value as a token segment: compact JSON, then base64url."""
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def hs256_by_hand(header: dict, claims: dict, secret: bytes) -> str:
    """TEACHING STEP: an HS256 token assembled with hmac, for secrets PyJWT rightly refuses (empty, a PEM key)."""
    signing_input = b64url_json(header) + "." + b64url_json(claims)
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def wordlist() -> list[str]:
    """The course's wordlist of common passwords (source and licence: labserver/data/README.md)."""
    return (Path(labserver.__file__).parent / "data" / "weak-secrets.txt").read_text().split("\n")[:-1]


@contextlib.contextmanager
def serve_jwks(key_set: dict, path: str = "/jwks.json"):
    """Serve a JWK Set on 127.0.0.1 (a free port) while the ``with`` block runs; yield its URL."""
    body = json.dumps(key_set).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            found = self.path == path
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body if found else b"{}")

        def log_message(self, *args):  # keep requests out of the notebook's output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # Polled every 50 ms for the end of the block, not every 500 ms (the default): the block ends sooner.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()


def flaw_blocks(name: str) -> list[tuple[str, str, list[str]]]:
    """The lab server's code marked for flaw ``name``: (file, function, lines) for each marked place.

    A marked place is the marker comment, the comments under it and the one statement they describe.
    """
    import importlib

    blocks = []
    for module_name in FLAW_MODULES:
        source = inspect.getsource(importlib.import_module(module_name))
        lines = source.split("\n")
        tree = ast.parse(source)
        statements = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
        functions = [node for node in statements if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for index, line in enumerate(lines):
            match = _MARKER.search(line)
            if not match or match[1] != name:
                continue
            marker = index + 1  # ast counts lines from 1
            after = [node for node in statements if node.lineno > marker]
            first = min(node.lineno for node in after)
            end = max(node.end_lineno for node in after if node.lineno == first)
            inside = [f for f in functions if f.lineno < marker <= f.end_lineno]
            function = max(inside, key=lambda f: f.lineno).name if inside else "module level"
            indent = len(line) - len(line.lstrip())
            blocks.append((module_name.replace(".", "/") + ".py", function,
                           [text[indent:] for text in lines[index:end]]))
    return blocks


def show_flaw(name: str) -> None:
    """Print where the lab server has flaw ``name``, read from its source: the flaw, and the fix beside it."""
    blocks = flaw_blocks(name)
    if not blocks:
        raise ValueError(f"no lab flaw named {name!r}")
    for file, function, lines in blocks:
        print(f"{file}, in {function}():")
        print("    " + "\n    ".join(lines))


def show_source(obj) -> None:
    """Print the source of a function or class, as it is in the file."""
    print(inspect.getsource(obj).rstrip("\n"))
