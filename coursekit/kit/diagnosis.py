"""Say why a learner's code raised: the line of their code that raised, and what the lab server had answered.

A learner's ``r.json()["access_token"]`` raises ``KeyError: 'access_token'`` when the server refused the
request; the useful part is the server's own answer (``{"error": ..., "error_description": ...}``, RFC 6749
§5.2, RFC 6750 §3). While a check runs, ``watching()`` notes every error answer that requests or httpx receives (any
call, the learner's or the kit's), so that ``raised()`` can put it beside the traceback::

    with watching():
        try:
            fn(server.url)
        except Exception as error:
            raise raised("login", error) from None
"""

from __future__ import annotations

import json
import os
import sysconfig
import threading
import traceback
import urllib.error
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import urlsplit

import requests

from coursekit.kit.verdicts import Incorrect

__all__ = ["LabError", "watching", "last_lab_error", "forget_lab_errors", "where", "describe", "raised"]


@dataclass(frozen=True)
class LabError:
    """An error answer in the standard shape: which request got it, the status, ``error`` and its description."""

    method: str
    path: str
    status: int
    error: str
    description: str

    @classmethod
    def of(cls, response: Any) -> LabError | None:
        """The error a response carries, or None when it is not an error answer in the standard shape.

        A response of requests or of httpx (the same names: status_code, json(), request.method, url).
        """
        status = getattr(response, "status_code", None)
        if not isinstance(status, int) or status < 400 or not callable(getattr(response, "json", None)):
            return None
        try:
            body = response.json()
        except Exception:  # noqa: BLE001 - not JSON, in whichever library's words
            return None
        request = getattr(response, "request", None)
        return cls._of(str(getattr(request, "method", "") or ""), str(getattr(response, "url", "")), status, body)

    @classmethod
    def raised_with(cls, error: BaseException) -> LabError | None:
        """The error answer an exception carries, or one in its chain (``raise ... from``) carries: an
        ``HTTPError`` of requests, an ``HTTPStatusError`` of httpx (their ``response``), or urllib's
        ``HTTPError``, which is the response itself."""
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            if isinstance(error, urllib.error.HTTPError):
                try:
                    body = json.loads(error.read() or b"null")
                except (OSError, ValueError):
                    body = None
                found = cls._of("", error.geturl() or "", error.code, body)
            else:
                found = cls.of(getattr(error, "response", None))
            if found is not None:
                return found
            error = error.__cause__ or error.__context__
        return None

    @classmethod
    def _of(cls, method: str, url: str, status: int, body: Any) -> LabError | None:
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            return None
        return cls(method, urlsplit(url).path, status, body["error"], str(body.get("error_description", "")))

    def __str__(self) -> str:
        said = f"{self.status} {self.error}" + (f": {self.description}" if self.description else "")
        return f"{self.method} {self.path} with {said}".lstrip()


# --- recording what requests receives while a check runs -------------------------------------------------

_lock = threading.Lock()
_RUNNING_STATE = ("_depth", "_last", "_outer")  # changed as checks run (coursekit.kit.grading.seal leaves them be)
_depth = 0  # nested watching() blocks; the patch is in place while it is above 0
_last: list[LabError | None] = [None]
# The HTTP libraries whose answers are noted: requests and httpx (requests.get and httpx.post use these too).
# urllib raises its HTTPError for an error answer, which LabError.raised_with reads instead.
_CLIENTS: list[type] = [requests.Session]
try:
    import httpx
except ImportError:  # not installed: learners' code cannot use it either
    pass
else:
    _CLIENTS.append(httpx.Client)
_original_send = {client: client.send for client in _CLIENTS}
_outer: dict[type, Any] = dict(_original_send)  # what send was before the outermost watching(), put back after it


def _noting(client: type) -> Any:
    def send(self: Any, request: Any, *args: Any, **kw: Any) -> Any:
        response = _outer[client](self, request, *args, **kw)
        if response.status_code >= 400 and not kw.get("stream"):
            error = LabError.of(response)
            if error is not None:
                _last[0] = error
        return response
    return send


_NOTING = {client: _noting(client) for client in _CLIENTS}


@contextmanager
def watching() -> Iterator[None]:
    """Note the error answers requests or httpx receives inside the block (every thread); forget them when it
    starts."""
    global _depth
    with _lock:
        if _depth == 0:
            _last[0] = None
            for client in _CLIENTS:
                _outer[client] = client.send  # another recorder's, say (coursekit.pictures.flows)
                client.send = _NOTING[client]
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for client in _CLIENTS:
                    client.send = _outer[client]


def last_lab_error() -> LabError | None:
    """The last error answer noted inside ``watching()``, if any."""
    return _last[0]


def forget_lab_errors() -> None:
    """Forget the error answers noted so far (before calling the learner's code, say)."""
    _last[0] = None


# --- the learner's line ----------------------------------------------------------------------------------

_KIT = os.path.dirname(os.path.abspath(__file__))
_LIBRARIES = tuple({os.path.abspath(p) for p in (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                                                  sysconfig.get_paths()["platlib"], _KIT,
                                                  os.path.dirname(os.path.abspath(requests.__file__)))})


def _is_library(filename: str) -> bool:
    path = os.path.abspath(filename)
    return any(path == root or path.startswith(root + os.sep) for root in _LIBRARIES) or "labserver" in path.split(os.sep)


def where(error: BaseException, checker: str = "") -> str:
    """The last line of the traceback that is the learner's code, as ``line 4, in login: `return r.json()[...]```;
    frames of the library, the kit, the lab server and the file ``checker`` do not count."""
    frames = traceback.extract_tb(error.__traceback__)
    own = [frame for frame in frames if not _is_library(frame.filename)
           and not (checker and os.path.abspath(frame.filename) == os.path.abspath(checker))]
    if not own:
        return ""
    frame = own[-1]
    code = f": `{frame.line.strip()}`" if frame.line else ""
    return f"line {frame.lineno}, in {frame.name}{code}"


def describe(error: BaseException) -> str:
    """``KeyError: 'access_token'``: the exception as the last line of a traceback shows it (short name)."""
    text = str(error) if not isinstance(error, KeyError) else repr(error.args[0]) if error.args else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def raised(fn_name: str, error: BaseException, context: str = "", advice: dict[str, str] | None = None,
           checker: str = "") -> Exception:
    """An ``Incorrect`` explaining that the learner's ``fn_name()`` raised: the exception, the learner's line,
    and the lab server's error answer (the one the exception carries, whatever the HTTP library, else the
    last one noted), with
    ``advice[error]`` when there is some for that error code."""
    message = f"{fn_name}() raised {describe(error)}" if fn_name else f"your code raised {describe(error)}"
    if context:
        message += f" {context}"
    line = where(error, checker)
    if line:
        message += f" (at {line})"
    lab_error = LabError.raised_with(error) or last_lab_error()
    if lab_error is not None:
        message += f". The lab server had answered {lab_error}"
        if advice and lab_error.error in advice:
            message += f". {advice[lab_error.error]}"
    return Incorrect(message)
