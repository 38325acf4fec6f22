"""Where a flawed verifier finds its key: each source here is DELIBERATELY VULNERABLE, lab only.

The secure server takes its key from one place only, its own key ring, by ``kid`` (``KeyRing.find``).
The sources below are the ways real servers have got that wrong, and the lab uses each of them only while
its flaw is on (see labserver.control.flaws and ``AccessTokens._key`` in labserver.tokens.access):

- ``from_jwk``: the key the token brings in its own ``jwk`` header;
- ``from_jku``: a JWK Set fetched from the URL in the token's ``jku`` header (loopback URLs only, even here);
- ``KeyFiles``: one file per HMAC secret, the file named by ``kid`` (path traversal);
- ``KeyTable``: the HMAC secrets in a SQL table, looked up by ``kid`` (SQL injection).
"""

from __future__ import annotations

import ipaddress
import json
import os
import sqlite3
import stat
import tempfile
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from jwt import PyJWK

from labserver.web.errors import InvalidToken

# A JWK Set is a few KB; a key file is at most a few hundred bytes.
_MAX_FETCH = 64 * 1024
_MAX_KEY_FILE = 4096
_MAX_QUERY_STEPS = 1000  # thousands of SQLite VM steps: a few milliseconds


def from_jwk(jwk, alg: str):
    """The key a token carries in its ``jwk`` header (RFC 7515 §4.1.3), as a key object for ``alg``."""
    # DELIBERATELY VULNERABLE (lab flaw "jwk-header"): the token names its own key, so anyone can sign one.
    # The fix: RFC 8725 §3.10 - a key from the token is at most a hint to match against keys you already trust.
    try:
        return PyJWK(jwk, algorithm=alg).key
    except Exception:  # PyJWK raises a handful of types for a bad JWK; all mean the same here
        raise InvalidToken("the jwk header is not a usable key") from None


class _LeftLoopback(Exception):
    """A jku fetch was redirected to an address that is not loopback."""


class _LoopbackRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to another loopback http URL: the rule holds for every hop, not just the first."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not _is_loopback_http(newurl):
            raise _LeftLoopback(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def from_jku(url, kid, alg: str):
    """The key for ``kid`` from the JWK Set at the token's ``jku`` URL (RFC 7515 §4.1.2), loopback only."""
    if not isinstance(url, str) or not _is_loopback_http(url):
        # Even a flawed lab never reaches beyond this machine.
        raise InvalidToken("jku must be an http URL on a loopback address")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _LoopbackRedirectsOnly())  # no proxies
    # DELIBERATELY VULNERABLE (lab flaw "jku-header"): the token says where to fetch its key, and we go.
    # The fix: fetch keys only from your issuer's own jwks_uri (RFC 8414), never from a URL in the token.
    try:
        with opener.open(url, timeout=2) as response:
            keys = json.loads(response.read(_MAX_FETCH))["keys"]
        jwk = next(k for k in keys if not isinstance(kid, str) or k.get("kid") == kid)
        return PyJWK(jwk, algorithm=alg).key
    except _LeftLoopback:
        raise InvalidToken("jku redirected away from loopback: refused") from None
    except Exception:  # unreachable, not JSON, no such kid, wrong key type: one answer
        raise InvalidToken("no usable key at the jku URL") from None


def _is_loopback_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
        hostname, _port = parts.hostname, parts.port  # both raise ValueError on a malformed URL
    except ValueError:
        return False
    if parts.scheme != "http" or not hostname:
        return False
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def fetch_loopback(url, header: str) -> bytes:
    """The body at a URL a token's header names (x5u), from a loopback address only, at most 64 KB."""
    if not isinstance(url, str) or not _is_loopback_http(url):
        raise InvalidToken(f"{header} must be an http URL on a loopback address")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _LoopbackRedirectsOnly())  # no proxies
    try:
        with opener.open(url, timeout=2) as response:
            return response.read(_MAX_FETCH)
    except _LeftLoopback:
        raise InvalidToken(f"{header} redirected away from loopback: refused") from None
    except Exception:  # unreachable, refused, an HTTP error: one answer
        raise InvalidToken(f"nothing usable at the {header} URL") from None


class KeyFiles:
    """HMAC secrets kept as files in a folder, one per key, each named by its kid."""

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory | None = None

    def secret(self, kid: str, secrets: dict[str, bytes]) -> bytes:
        """Return the secret in the file named ``kid``; ``secrets`` are the current keys, written out first."""
        folder = self.write(secrets)
        # DELIBERATELY VULNERABLE (lab flaw "kid-path"): kid is joined to the folder as it is, so
        # "../../../../dev/null" climbs out of it and reads an empty file: an empty secret anyone can use.
        # The fix: never build a path from a token; look kid up among your own keys (KeyRing.find).
        try:
            return _read_key_file(folder / kid)
        except (OSError, ValueError):  # no such file, a folder, a NUL byte in the name, ...
            raise InvalidToken("unknown key id") from None

    def close(self) -> None:
        """Remove the folder and the secrets in it (explicitly: a forked server's exit skips finalizers)."""
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def write(self, secrets: dict[str, bytes]) -> Path:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="labserver-keyfiles-")
        folder = Path(self._folder.name)
        for kid, secret in secrets.items():
            path = folder / kid
            if not path.exists():
                path.write_bytes(secret)
                path.chmod(0o600)
        return folder


def _read_key_file(path: Path) -> bytes:
    """Read at most a few KB, never waiting: a pipe (such as /dev/stdin, the server's lifeline) would block."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):  # files, and devices like /dev/null
            raise OSError("not a file")
        return os.read(fd, _MAX_KEY_FILE)
    finally:
        os.close(fd)


class KeyTable:
    """HMAC secrets kept in a SQL table ``keys(kid, secret)``, looked up by kid."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute("CREATE TABLE keys (kid TEXT PRIMARY KEY, secret BLOB NOT NULL)")
        self._lock = threading.Lock()
        # An injected query may never end (a recursive CTE): SQLite calls this every 1000 steps, and a true
        # answer interrupts the query. A real lookup takes a few dozen steps.
        self._steps = 0
        self._db.set_progress_handler(self._too_long, 1000)

    def _too_long(self) -> bool:
        self._steps += 1
        return self._steps > _MAX_QUERY_STEPS

    def secret(self, kid: str, secrets: dict[str, bytes], *, flawed: bool) -> bytes:
        """Return the secret stored for ``kid``; ``secrets`` are the current keys, inserted first."""
        value = self.selected(kid, secrets, flawed=flawed)
        if not isinstance(value, (bytes, str)):
            raise InvalidToken("unknown key id")
        return value.encode() if isinstance(value, str) else value

    def selected(self, kid: str, secrets: dict[str, bytes], *, flawed: bool) -> object:
        """What the lookup of ``kid`` selects, typed as SQLite typed it (bytes for a blob, str for text), or
        None. Lesson 06's check runs it on a table of its own to see what an injected kid selects."""
        with self._lock:
            self._steps = 0
            self._db.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?)", secrets.items())
            try:
                # DELIBERATELY VULNERABLE (lab flaw "kid-sql"): kid pasted into the SQL text, so a kid of
                # "x' UNION SELECT 'attacker-secret' --" makes the lookup return a secret the attacker chose.
                # The fix is the else branch: a parameter. The kid is data, never SQL.
                if flawed:
                    row = self._db.execute(f"SELECT secret FROM keys WHERE kid = '{kid}'").fetchone()  # noqa: S608
                else:
                    row = self._db.execute("SELECT secret FROM keys WHERE kid = ?", (kid,)).fetchone()
            except (sqlite3.Error, sqlite3.Warning):  # the injected SQL did not parse, or ran two statements
                row = None
        return None if row is None else row[0]
