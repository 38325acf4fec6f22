"""An online password guesser against a lab, as fast as the lab's login throttling lets it go (lesson 06).

    attempt(lab, "alice", "guess-1")        # (400, None, 'Incorrect username or password')
    run = guess_for(lab, "bob", hours=1)    # guesses the server checked in one hour of lab time

The guesser never sleeps: when the server answers 429, it moves the lab clock by the ``Retry-After`` the
server sent and tries again, which is the fastest any guesser could go.
"""

from __future__ import annotations

from dataclasses import dataclass

from labserver import LabServer

__all__ = ["attempt", "guess_for", "GuessingRun"]


def attempt(lab: LabServer, username: str, password: str) -> tuple[int, int | None, str]:
    """One password login: its status, its Retry-After (None if none) and what the server said."""
    r = lab.http.post(lab.url + "/oauth/token", timeout=10,
                      data={"grant_type": "password", "username": username, "password": password})
    body = r.json()
    retry = r.headers.get("Retry-After")
    return r.status_code, int(retry) if retry else None, body.get("error_description", "logged in")


@dataclass(frozen=True)
class GuessingRun:
    """What a guesser got from the server in a stretch of lab time."""

    seconds: float
    checked: int            # guesses whose password the server checked (each one a chance)
    refused: int            # attempts answered 429 before any check
    longest_wait: int       # the longest Retry-After the server asked for

    @property
    def per_day(self) -> float:
        return self.checked * 86400 / self.seconds


def guess_for(lab: LabServer, username: str, *, hours: float) -> GuessingRun:
    """Guess wrong passwords at ``username`` for ``hours`` of lab time, waiting exactly as long as told."""
    start = lab.clock.now()
    checked = refused = longest = 0
    while lab.clock.now() - start < hours * 3600:
        status, retry, _said = attempt(lab, username, f"wrong-guess-{checked}")
        if status == 429:
            refused += 1
            longest = max(longest, retry)
            lab.clock.advance(retry)
        else:
            checked += 1
    return GuessingRun(hours * 3600, checked, refused, longest)
