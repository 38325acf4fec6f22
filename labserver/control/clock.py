"""The lab clock: the one source of "now" for every time decision the server makes."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class LabClock:
    """A clock that follows the wall clock with an offset, or stands frozen at an instant.

    Issuing tokens, checking exp/nbf/iat, session and refresh-family expiry all ask this clock,
    so a lesson can jump 31 minutes ahead instead of sleeping.
    """

    def __init__(self, frozen_at: float | None = None, wall=time.time) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at = frozen_at

    def now(self) -> float:
        """Return the lab time as Unix seconds."""
        with self._lock:
            return self._frozen_at if self._frozen_at is not None else self._wall() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self) -> float:
        """Stop the clock at the current lab time."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self._wall() + self._offset
            return self._frozen_at

    def run(self) -> float:
        """Let the clock tick again from where it stands."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._wall()
                self._frozen_at = None
            return self._wall() + self._offset

    def set(self, instant: float) -> None:
        """Move the clock to an instant, keeping it frozen or running as it was."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = float(instant)
            else:
                self._offset = float(instant) - self._wall()

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative number)."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def state(self) -> dict:
        now = self.now()
        return {"now": now, "iso": iso(now), "frozen": self.frozen}


def iso(instant: float) -> str:
    """Format Unix seconds as an ISO 8601 UTC timestamp, e.g. 2030-01-01T09:00:00Z."""
    moment = datetime.fromtimestamp(instant, tz=timezone.utc)
    text = moment.isoformat(timespec="milliseconds" if instant % 1 else "seconds")
    return text.replace("+00:00", "Z")


def parse_instant(value: str | float | int) -> float:
    """Read Unix seconds or an ISO 8601 timestamp (a naive one is taken as UTC)."""
    if isinstance(value, bool):
        raise ValueError("expected a Unix time or an ISO 8601 timestamp")
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
