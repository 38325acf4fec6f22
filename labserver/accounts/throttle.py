"""Login throttling: after too many failed logins, refuse more for a while (RFC 6585 §4: 429, Retry-After).

This is the one place login attempts are limited; both login routes (the token endpoint's password grant
and the session login form) go through it. Failures are counted per account name and per client address
over a sliding window on the lab clock, so a lesson moves the clock instead of waiting. The name counts
whether or not such an account exists, so the answer says nothing about which names are real. A throttled
login is refused before its password is checked: no argon2 run, and the right password waits too.

An attempt counts as a failure from the moment it starts (a burst of parallel guesses cannot slip past
the limit while their passwords are being checked); a success takes it back and clears the name's count.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict, deque


class LoginThrottle:
    def __init__(self, per_account: int, per_address: int, window: float, max_keys: int = 10_000) -> None:
        self._limits = {"account": per_account, "address": per_address}
        self._window = window
        self._max_keys = max_keys  # names and addresses remembered at most: memory stays bounded
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def attempt(self, username: str, address: str, now: float) -> int | None:
        """Count a login attempt as failed until it succeeds; if over a limit, count nothing and return
        the seconds to wait (for Retry-After)."""
        keys = self._keys(username, address)
        with self._lock:
            waits = [self._wait(key, now) for key in keys]
            if any(w is not None for w in waits):
                return max(w for w in waits if w is not None)
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
                self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)
        return None

    def succeeded(self, username: str, address: str, at: float) -> None:
        """Take back the attempt started at ``at``; a right password clears the account's failures."""
        account, by_address = self._keys(username, address)
        with self._lock:
            self._failures.pop(account, None)
            times = self._failures.get(by_address)
            if times and at in times:
                times.remove(at)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()

    def _wait(self, key: tuple[str, str], now: float) -> int | None:
        times = self._failures.get(key)
        if not times:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if len(times) < self._limits[key[0]]:
            return None
        # The oldest failure still counting leaves the window first.
        return max(1, math.ceil(times[-self._limits[key[0]]] + self._window - now))

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        # A digest, not the name: a 1 MB "username" costs 32 bytes here.
        name = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
        return ("account", name), ("address", address)
