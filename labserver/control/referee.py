"""LAB ONLY, for grading client code: a budget of token requests, and a refresh held until a second one races it.

A check of a learner's client (the capstone, lesson 07) judges what reached the server, whatever HTTP library
sent it. Two things it cannot arrange from outside the server, so the lab does them when asked:

- ``budget``: token requests (``POST /oauth/token``) allowed from now on; past it the token endpoint answers
  429 ``too_many_requests`` and the audit log notes ``token_budget_spent`` once. A client that loops on
  refused grants meets a refusal it cannot talk its way past, and the check sees the loop at the server.
- ``hold_refresh``: seconds the first refresh grant waits for a second one before it is served, and the first
  refused access token for a second refused one (so both racing callers hold a 401 before either refreshes). Two callers
  that both refresh with the same token then reliably spend it twice (the race a lock prevents), instead of
  only when the scheduler happens to interleave them.
- ``refuse_access``: every access token is refused (401 ``invalid_token``), new ones too, so a check can see
  what a client does when the token it just got by refreshing is refused as well: retry once, or loop.

All are off by default (``budget`` None, ``hold_refresh`` 0, ``refuse_access`` False), are set through the lab
controls (``PUT /lab/referee``, mounted on loopback only) and end at a lab reset.
"""

from __future__ import annotations

import asyncio
import threading

# The longest hold a referee may ask for: a race needs a moment, not a stalled server.
MAX_HOLD = 5.0


class Referee:
    """The budget and the hold of one lab; read by the token endpoint on every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.budget: int | None = None
            self.hold_refresh = 0.0
            self.refuse_access = False
            self.token_requests = 0
            self._arrived: dict[str, int] = {}  # refreshes and refused access tokens since the hold was set
            self._second: dict[str, asyncio.Event] = {}

    def set(self, budget: int | None, hold_refresh: float, refuse_access: bool = False) -> dict:
        """Start counting afresh with this budget, hold and refusal; return the state."""
        self.reset()
        with self._lock:
            self.budget, self.hold_refresh, self.refuse_access = budget, hold_refresh, refuse_access
        return self.state()

    def state(self) -> dict:
        with self._lock:
            return {"budget": self.budget, "hold_refresh": self.hold_refresh, "refuse_access": self.refuse_access,
                    "token_requests": self.token_requests}

    def admit(self) -> bool:
        """Count one token request; False once the budget is spent (the first refusal returns False too)."""
        with self._lock:
            self.token_requests += 1
            return self.budget is None or self.token_requests <= self.budget

    def first_over_budget(self) -> bool:
        with self._lock:
            return self.budget is not None and self.token_requests == self.budget + 1

    async def after_refusal(self) -> None:
        """While a race is held, hold the first refused access token until a second is refused too (at most
        hold_refresh seconds): both racing callers then hold a 401 before either can refresh, whatever the order
        the machine happened to run them in, so a client that refreshes again in turn is seen doing it. No
        second refusal comes when a client's lock spans the whole request, and the first is then served."""
        await self._first_waits_for_second("refusal")

    async def before_refresh(self) -> None:
        """Hold the first refresh until a second arrives (at most hold_refresh seconds); let later ones through."""
        await self._first_waits_for_second("refresh")

    async def _first_waits_for_second(self, kind: str) -> None:
        """The first of ``kind`` waits, at most hold_refresh seconds, for a second one; later ones go through."""
        if not self.hold_refresh:
            return
        with self._lock:
            self._arrived[kind] = self._arrived.get(kind, 0) + 1
            second, first = self._second.setdefault(kind, asyncio.Event()), self._arrived[kind] == 1
        if not first:
            second.set()
            return
        try:
            await asyncio.wait_for(second.wait(), self.hold_refresh)
        except asyncio.TimeoutError:
            pass  # no second one came: the client does them one at a time
