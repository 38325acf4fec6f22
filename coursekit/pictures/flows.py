"""Draw a flow as it happened: the requests a client sent to a lab server, what each cost the server's store,
and what the server's audit log recorded, as a sequence diagram (Mermaid, which JupyterLab 4 draws offline).

    with record(lab) as flow:
        browser.post(lab.url + "/session/login", data={...})
        browser.get(lab.url + "/session/me")
    flow            # the diagram: Client, Server, Store

Nothing is made up: each arrow is a request that went out, its answer, and the store reads and writes the
server counted for it (``lab.stats()``); each note is an event of the audit log (``lab.audit()``) recorded
while it was answered. The lab's own control routes (``/lab/...``) are not part of the flow and are left out,
but what they change shows, such as the clock moving.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import parse_qs, parse_qsl, urlsplit

import requests

from labserver import LabServer

__all__ = ["Flow", "record", "event_note"]


@dataclass
class Flow:
    """The steps of a recorded flow; displays as a Mermaid sequence diagram (its text form is the Mermaid source)."""

    lines: list[str] = field(default_factory=list)
    title: str = ""
    client: str = "Client"  # who sends the requests (lesson 10: the browser and the app it logs in to)

    def mermaid(self) -> str:
        """The diagram in Mermaid's sequence diagram syntax."""
        head = ["sequenceDiagram"] + ([f"    title {self.title}"] if self.title else [])
        head += [f"    participant C as {self.client}", "    participant S as Server", "    participant D as Store"]
        return "\n".join(head + [f"    {line}" for line in self.lines])

    def __repr__(self) -> str:
        return self.mermaid()

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self.mermaid()}\n```"


def _text(value: Any) -> str:
    """Text safe inside a Mermaid message: no line breaks, no ';' or '#' (Mermaid's separators)."""
    return str(value).replace("\n", " ").replace(";", ",").replace("#", "No.")


def _credential(request: requests.PreparedRequest) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return " with a Bearer token"
    names = [part.split("=")[0].strip() for part in request.headers.get("Cookie", "").split(";")]
    if any(name in ("session", "__Host-session") for name in names):  # the lab's (another port's cookies come too)
        return " with the session cookie"
    return ""


def _form(request: requests.PreparedRequest) -> dict:
    body = request.body
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    if not isinstance(body, str) or "json" in request.headers.get("Content-Type", ""):
        return {}
    return {key: values[0] for key, values in parse_qs(body).items()}


def _ask(request: requests.PreparedRequest) -> str:
    path = urlsplit(request.url).path
    form = _form(request)
    what = f"{request.method} {path}"
    if "grant_type" in form:
        what += f" grant_type={form['grant_type']}"
    if "username" in form:
        what += f" ({form['username']})"
    query = dict(parse_qsl(urlsplit(request.url).query))
    if path.endswith("/oauth/authorize") and "client_id" in query:
        what += f" client_id={query['client_id']}"
        if query.get("code_challenge_method"):
            what += f" code_challenge_method={query['code_challenge_method']}"
    return _text(what + _credential(request))


def _answer(response: requests.Response) -> str:
    said = str(response.status_code)
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if "error" in body:
            said += f" {body['error']}"
            if body.get("error_description"):
                said += f": {body['error_description']}"
        elif "access_token" in body:
            said += " access token" + (" + refresh token" if "refresh_token" in body else "")
        elif "username" in body:
            said += f" {body['username']}"
    if response.headers.get("Content-Type", "").startswith("text/html"):
        said += " login page" if response.status_code == 200 else " error page"
    if response.status_code in (302, 303) and "Location" in response.headers:
        sent = [name for name, _value in parse_qsl(urlsplit(response.headers["Location"]).query)]
        said += " back to the redirect URI with " + " ".join(sent)
    if "Set-Cookie" in response.headers:
        said += ", Max-Age=0 (delete the cookie)" if "Max-Age=0" in response.headers["Set-Cookie"] else ", Set-Cookie"
    return _text(said)


def _cost(before: dict, after: dict, kind: str) -> str:
    old, new = before.get(kind, {}), after.get(kind, {})
    reads = new.get("reads", 0) - old.get("reads", 0)
    writes = new.get("writes", 0) - old.get("writes", 0)
    if reads < 0 or writes < 0:  # the counters were cleared meanwhile
        return ""
    plural = lambda n, word: f"{n} {word}" + ("s" if n != 1 else "")  # noqa: E731
    return f"{plural(reads, 'read')}, {plural(writes, 'write')}"


def event_note(event: dict) -> str:
    """One audit event as a short note: its name and the details a reader needs."""
    name = event.get("event", "?")
    if name == "clock_changed":
        return f"lab clock set to {str(event.get('now', ''))[11:16]}"
    details = [str(event[key]) for key in ("via", "username", "client", "reason", "token_type") if event.get(key)]
    if event.get("family"):
        details.append(f"family {str(event['family'])[:6]}…")
    return _text(name + (f" ({', '.join(details)})" if details else ""))


class _Recorder:
    def __init__(self, server: LabServer, flow: Flow) -> None:
        self.server, self.flow = server, flow
        self.seen = max((event["id"] for event in server.audit()), default=0)
        self.busy = threading.local()

    def _new_events(self) -> list[dict]:
        events = self.server.audit(self.seen)
        if events:
            self.seen = events[-1]["id"]
        return events

    def send(self, original: Any, session: requests.Session, request: requests.PreparedRequest, **kw: Any):
        path = urlsplit(request.url).path
        mine = request.url.startswith(self.server.url + "/") and not path.startswith("/lab/")
        if not mine or getattr(self.busy, "on", False):
            return original(session, request, **kw)
        self.busy.on = True
        try:
            for event in self._new_events():  # what happened between requests: the clock moved, say
                self.flow.lines.append(f"Note over C,D: {event_note(event)}")
            before = self.server.stats()
            response = original(session, request, **kw)
            after = self.server.stats()
            kind = f"{request.method} {path}"
            self.flow.lines.append(f"C->>S: {_ask(request)}")
            cost = _cost(before, after, kind)
            if cost == "0 reads, 0 writes":
                self.flow.lines.append("Note over S: no store read or write")
            elif cost:
                self.flow.lines.append(f"S->>D: {cost}")
            for event in self._new_events():
                self.flow.lines.append(f"Note over S,D: {event_note(event)}")
            self.flow.lines.append(f"S-->>C: {_answer(response)}")
            return response
        finally:
            self.busy.on = False


@contextmanager
def record(server: LabServer, title: str = "", client: str = "Client") -> Iterator[Flow]:
    """Record the requests sent to ``server`` inside the block (by any requests call) as a Flow; ``client`` names
    who sends them."""
    flow = Flow(title=title, client=client)
    recorder = _Recorder(server, flow)
    original = requests.Session.send

    def send(session: requests.Session, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
        return recorder.send(original, session, request, **kw)

    requests.Session.send = send
    try:
        yield flow
    finally:
        requests.Session.send = original
