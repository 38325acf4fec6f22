"""Login throttling: slow guessing down without locking the real user out (RFC 6585 §4: 429, Retry-After).

This is the one place login attempts are limited; both login routes (the token endpoint's password grant
and the session login form) go through it. Two counts with two jobs, both on the lab clock (a lesson moves
the clock instead of waiting), following OWASP's Authentication Cheat Sheet ("Account Lockout"):

- **Per account name: guesses at one account.** The first ``per_account`` failures in a row cost nothing;
  after them every attempt waits twice as long as the one before, counted from the latest failure (1 s, 2 s,
  4 s, ...), but never longer than ``lockout``. "In a row": a right password, or a whole window without a
  failure, starts the count again. So the real user is locked out for at most ``lockout`` after the
  attacker's last guess (not for the whole window), and a guesser gets one try per ``lockout``. An attempt counts from the moment it starts, so a burst of parallel guesses at one account
  gets no more than the limit checked. The name counts whether or not such an account exists, so the answer
  says nothing about which names are real; a right password clears the name's count.
- **Per client address: spraying many names from one address.** Only finished failures count, so a class
  logging in at once from one hub or one NAT with right passwords is never refused. The count is checked
  when a login arrives and again when its password check really starts (after waiting for a worker), so a
  burst over many names gets at most the limit, plus the checks already running, checked.

A lesson's clock is often frozen, and then no wait on the lab clock would ever end: another user of a shared
machine could lock an account (or the one address everybody shares) for good with a few wrong guesses. So
every wait also ends on the real clock, ``lockout`` after the account's latest failure and ``window`` after
the address's: never longer than a running clock would make it.

The address is the connection's own (labserver.launch.serve ignores forwarded headers unless proxies are named).
A throttled login is refused before its password is checked: no argon2 run. Every refusal says what was
counted.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable

from labserver.web.errors import TooManyFailedLogins


@dataclass(frozen=True)
class Attempt:
    """A login in progress: counted against its account name until it succeeds."""

    account: tuple[str, str]
    address: tuple[str, str]
    at: float


class LoginThrottle:
    def __init__(self, per_account: int, per_address: int, window: float, lockout: float,
                 max_keys: int = 10_000, real_clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = {"account": per_account, "address": per_address}
        self._real_clock = real_clock
        self._latest_real: dict[tuple[str, str], float] = {}  # each key's latest failure, on the real clock
        self._window = window
        self._lockout = lockout
        self._max_keys = max_keys  # names and addresses remembered at most: memory stays bounded
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, username: str, address: str, now: float) -> Attempt:
        """Count a login attempt against its account name, or raise TooManyFailedLogins (counting nothing)."""
        account = ("account", hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest())
        attempt = Attempt(account, ("address", address), now)
        with self._lock:
            self._refuse_if_over(attempt.address, now)
            self._refuse_if_over(account, now)
            self._add(account, now)
        return attempt

    def check_address(self, attempt: Attempt, now: float) -> None:
        """Just before the password check: refuse if the address has failed too often meanwhile."""
        with self._lock:
            try:
                self._refuse_if_over(attempt.address, now)
            except TooManyFailedLogins:
                self._take_back(attempt)
                raise

    def failed(self, attempt: Attempt, now: float) -> None:
        """The password was wrong: the account's count keeps the attempt; the address's gains it."""
        with self._lock:
            self._add(attempt.address, now)

    def succeeded(self, attempt: Attempt) -> None:
        """A right password clears the account name's failures."""
        with self._lock:
            self._failures.pop(attempt.account, None)
            self._latest_real.pop(attempt.account, None)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._latest_real.clear()

    def _add(self, key: tuple[str, str], now: float) -> None:
        # Bounded: an account's row needs its last 64 failures past the limit at most (the wait is capped).
        bound = self._limits[key[0]] + 64
        self._failures.setdefault(key, deque(maxlen=bound)).append(now)
        self._failures.move_to_end(key)
        self._latest_real[key] = self._real_clock()
        while len(self._failures) > self._max_keys:
            self._latest_real.pop(self._failures.popitem(last=False)[0], None)

    def _take_back(self, attempt: Attempt) -> None:
        times = self._failures.get(attempt.account)
        if times and attempt.at in times:
            times.remove(attempt.at)

    def _refuse_if_over(self, key: tuple[str, str], now: float) -> None:
        times = self._failures.get(key)
        if not times:
            return
        kind, limit = key[0], self._limits[key[0]]
        longest = self._lockout if kind == "account" else self._window
        if self._real_clock() - self._latest_real.get(key, -math.inf) >= longest:
            return  # waited that long in real time: the lab clock may be frozen
        if kind == "account":
            if times[-1] <= now - self._window:  # a whole window without a failure: the row is over
                times.clear()
                return
            if len(times) < limit:
                return
            # Each failure past the limit doubles the wait, up to the lockout.
            until = times[-1] + min(self._lockout, 2.0 ** min(len(times) - limit, 64))
            counted = f"{len(times)} failed logins in a row for this account name"
        else:
            while times and times[0] <= now - self._window:
                times.popleft()
            if len(times) < limit:
                return
            until = times[-limit] + self._window  # the oldest failure that counts leaves the window
            counted = f"{len(times)} failed logins from your address in the last {_duration(self._window)}"
        if now < until:
            raise TooManyFailedLogins(max(1, math.ceil(until - now)), counted)


def _duration(seconds: float) -> str:
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"
