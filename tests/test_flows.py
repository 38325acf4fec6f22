"""coursekit.pictures.flows draws what happened: each request, its store cost and the audit events, in order."""

import requests

from coursekit.pictures.flows import event_note, record
from coursekit.labtools.lab import start_lab, stop_lab


def test_a_session_login_logout_and_a_dead_cookie_are_drawn_as_they_happened():
    lab = start_lab("test-flows")
    try:
        with record(lab, title="a session") as flow:
            browser = requests.Session()
            browser.post(lab.url + "/session/login", data={"username": "alice", "password": "alice-password"})
            copied = browser.cookies["session"]
            browser.post(lab.url + "/session/logout")
            lab.clock.advance(minutes=5)  # a lab route: not drawn, but its audit event is
            requests.get(lab.url + "/session/me", cookies={"session": copied})
        requests.get(lab.url + "/api/hello")  # after the block: not recorded
    finally:
        stop_lab("test-flows")
    assert flow.lines == [
        "C->>S: POST /session/login (alice)",
        "S->>D: 1 read, 1 write",
        "Note over S,D: login (session, alice)",
        "S-->>C: 200 alice, Set-Cookie",
        "C->>S: POST /session/logout with the session cookie",
        "S->>D: 0 reads, 1 write",
        "Note over S,D: logout (session)",
        "S-->>C: 200, Max-Age=0 (delete the cookie)",
        "Note over C,D: lab clock set to 09:05",
        "C->>S: GET /session/me with the session cookie",
        "S->>D: 1 read, 0 writes",
        "S-->>C: 401 login_required: no valid session: log in first",
    ]
    text = repr(flow)
    assert text.startswith("sequenceDiagram\n    title a session\n    participant C as Client")
    assert flow._repr_markdown_() == f"```mermaid\n{text}\n```"
    assert requests.Session.send.__name__ == "send" and requests.Session.send.__module__ == "requests.sessions"


def test_a_bearer_request_that_touches_no_store_says_so():
    lab = start_lab("test-flows-token")
    try:
        token = requests.post(lab.url + "/oauth/token", data={
            "grant_type": "password", "username": "bob", "password": "bob-password"}).json()["access_token"]
        with record(lab) as flow:
            requests.get(lab.url + "/api/me", headers={"Authorization": f"Bearer {token}"})
    finally:
        stop_lab("test-flows-token")
    assert flow.lines == ["C->>S: GET /api/me with a Bearer token", "Note over S: no store read or write",
                          "S-->>C: 200 bob"]


def test_audit_events_read_as_short_notes():
    assert event_note({"event": "reuse_detected", "family": "8LP3r8HVjAybA_hK", "user_id": 2}) == \
        "reuse_detected (family 8LP3r8…)"
    assert event_note({"event": "refresh_denied", "reason": "a; b # c"}) == "refresh_denied (a, b No. c)"
