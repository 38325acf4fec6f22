"""The audit log: what happened, when by the lab clock, and to whom. Never a secret.

Text that came from a client (a username typed at a login form) is logged capped and escaped: a 1 MB
"username" does not fill memory, control characters and line breaks cannot forge log lines, and a password
typed into the username field by mistake is at most a prefix.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Callable

from labserver.control.clock import iso

EVENTS = (
    "login", "login_failed", "login_throttled", "logout", "refresh", "refresh_denied", "reuse_detected",
    "reuse_within_interval", "family_revoked", "revocation", "verification_failed",
    "role_changed", "user_disabled", "user_enabled", "keys_rotated", "clock_changed", "reset", "flaws_changed",
    "keys_rotated_now", "authorization_refused", "code_issued", "code_refused", "code_reused", "challenge_answered",
    "token_budget_spent", "referee_changed",
)


# Longest text kept from one field; longer text is cut and marked with how much was cut.
MAX_TEXT = 128


def loggable(value):
    """Return ``value`` safe to log: text capped at MAX_TEXT characters, non-printable characters escaped."""
    if not isinstance(value, str):
        return value
    cut = len(value) - MAX_TEXT
    text = value[:MAX_TEXT]
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return text + f"... ({cut} more characters)" if cut > 0 else text


class AuditLog:
    """An in-memory, bounded list of events, numbered so a reader can ask for what is new."""

    def __init__(self, now: Callable[[], float], limit: int = 10_000) -> None:
        self._now = now
        self._events: deque[dict] = deque(maxlen=limit)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, event: str, **details) -> None:
        assert event in EVENTS, event
        with self._lock:
            self._events.append({"id": next(self._ids), "at": iso(self._now()), "event": event,
                                 **{k: loggable(v) for k, v in details.items()}})

    def events(self, since: int = 0) -> list[dict]:
        """Return the events with an id greater than ``since``, oldest first."""
        with self._lock:
            return [e for e in self._events if e["id"] > since]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
