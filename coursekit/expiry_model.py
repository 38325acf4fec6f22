"""A small model of the access-token lifetime trade-off, for notebook 04. All durations are in minutes.

Without refresh tokens one number, the access token's lifetime L, decides two things at once:

* how long a stolen token works for the thief: up to L (stolen the moment it was issued), L/2 on
  average (stolen at a random moment of its life);
* how often a user logs in. A user active ``active_hours`` a day (in one stretch) logs in once per
  lifetime while L is shorter than that stretch, once a day while L lies between the stretch and a
  day (the token from yesterday has run out), and once per lifetime after that (a two-week token:
  one login every two weeks).

Short L is safe and tiresome; long L is convenient and dangerous. ``lifetime_range`` finds the lifetimes
that meet a limit on both, if any do: often none do, which is what refresh tokens (notebook 05) fix.
"""

from __future__ import annotations

HOUR = 60
DAY = 24 * HOUR
WEEK = 7 * DAY

__all__ = ["HOUR", "DAY", "WEEK", "worst_case_window", "expected_window", "logins_per_day",
           "token_requests_per_second", "lifetime_range", "duration_label", "plot_tradeoff"]


def _positive(lifetime: float) -> float:
    if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or not lifetime > 0:
        raise ValueError(f"a lifetime must be a positive number of minutes, not {lifetime!r}")
    return float(lifetime)


def _active_minutes(active_hours: float) -> float:
    if not 0 < active_hours <= 24:
        raise ValueError(f"active_hours must be more than 0 and at most 24, not {active_hours!r}")
    return active_hours * HOUR


def worst_case_window(lifetime: float) -> float:
    """Minutes a stolen token keeps working if it is stolen the moment it is issued: its whole lifetime."""
    return _positive(lifetime)


def expected_window(lifetime: float) -> float:
    """Minutes a stolen token keeps working on average, if stolen at a random moment of its life."""
    return _positive(lifetime) / 2


def logins_per_day(lifetime: float, active_hours: float = 8) -> float:
    """Password logins per day for a user active ``active_hours`` a day, with no refresh tokens."""
    lifetime, active = _positive(lifetime), _active_minutes(active_hours)
    # While active: one login per lifetime. At least one a day, unless a token outlives the day.
    return max(active / lifetime, min(1.0, DAY / lifetime))


def token_requests_per_second(lifetime: float, users: int, active_hours: float = 8) -> float:
    """Average password logins per second at the token endpoint for ``users`` daily active users."""
    return users * logins_per_day(lifetime, active_hours) / (DAY * 60)


def lifetime_range(max_window: float, max_logins_per_day: float, active_hours: float = 8,
                   *, worst_case: bool = True) -> tuple[float, float] | None:
    """The lifetimes (min, max), in minutes, that keep both the thief's window and the logins within limits.

    ``max_window`` limits the worst-case window (or the expected one with ``worst_case=False``).
    Returns None when no lifetime meets both limits.
    """
    _positive(max_window)
    _positive(max_logins_per_day)
    active = _active_minutes(active_hours)
    longest = max_window if worst_case else 2 * max_window
    # logins_per_day falls as the lifetime grows: find where it drops to the limit.
    shortest = active / max_logins_per_day if max_logins_per_day >= 1 else DAY / max_logins_per_day
    return (shortest, longest) if shortest <= longest else None


_LABELS = ((WEEK, "week"), (DAY, "day"), (HOUR, "h"), (1, "min"))


def duration_label(minutes: float) -> str:
    """A short label for a duration: 30 -> '30 min', 480 -> '8 h', 20160 -> '2 weeks'."""
    for size, unit in _LABELS:
        if minutes >= size and minutes % size == 0:
            count = int(minutes // size)
            plural = "s" if count != 1 and unit in ("week", "day") else ""
            return f"{count} {unit}{plural}"
    return f"{minutes:g} min"


# The course material's two examples: a 30-minute access token, and logging in again every two weeks.
MATERIAL_MARKS = (30, 2 * WEEK)
_TICKS = (1, 10, HOUR, 8 * HOUR, DAY, WEEK, 30 * DAY)
_WINDOW_TICKS = (1, 10, HOUR, DAY, WEEK, 30 * DAY)
_LOGIN_TICKS = (0.1, 1, 10, 100)


def plot_tradeoff(marks=MATERIAL_MARKS, *, active_hours: float = 8, max_window: float | None = None,
                  max_logins_per_day: float | None = None, points: int = 200):
    """Plot both sides of the trade-off against the lifetime (1 minute to 30 days, log scales); return the Figure.

    Left: the thief's window (worst case and average). Right: logins per day. ``marks`` are lifetimes
    drawn as dashed lines; ``max_window`` and ``max_logins_per_day`` draw limits and shade the lifetimes
    that meet both.
    """
    import matplotlib.pyplot as plt  # here, so that the model itself imports nothing heavy
    from matplotlib.ticker import FixedLocator, NullLocator

    lo, hi = 1.0, 30.0 * DAY
    xs = [lo * (hi / lo) ** (i / (points - 1)) for i in range(points)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4))

    left.plot(xs, [worst_case_window(x) for x in xs], color="#c62828", label="worst case (L)")
    left.plot(xs, [expected_window(x) for x in xs], color="#ef9a9a", label="average (L/2)")
    left.set_title("A stolen token works for…")
    right.plot(xs, [logins_per_day(x, active_hours) for x in xs], color="#1565c0")
    right.set_title(f"Logins per day ({active_hours:g} h active)")

    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_xlabel("access-token lifetime L")
        ax.xaxis.set_major_locator(FixedLocator(_TICKS))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([duration_label(t) for t in _TICKS], rotation=45, ha="right")
        ax.grid(True, which="major", alpha=0.3)
        for mark in marks:
            ax.axvline(mark, color="#616161", linestyle="--", linewidth=1)
            # The label goes inside the plot: right of the line in the left half, left of it in the right half.
            inside = mark < (lo * hi) ** 0.5
            ax.annotate(duration_label(mark), (mark, 1), xycoords=("data", "axes fraction"),
                        xytext=(3 if inside else -3, -12), textcoords="offset points",
                        ha="left" if inside else "right", fontsize=8, color="#616161")
    left.yaxis.set_major_locator(FixedLocator(_WINDOW_TICKS))
    left.yaxis.set_minor_locator(NullLocator())
    left.set_yticklabels([duration_label(t) for t in _WINDOW_TICKS])
    right.yaxis.set_major_locator(FixedLocator(_LOGIN_TICKS))
    right.yaxis.set_minor_locator(NullLocator())
    right.set_yticklabels([f"{t:g}" for t in _LOGIN_TICKS])
    left.legend(loc="lower right", fontsize=8)

    if max_window is not None:
        left.axhline(max_window, color="#2e7d32", linewidth=1)
    if max_logins_per_day is not None:
        right.axhline(max_logins_per_day, color="#2e7d32", linewidth=1)
    if max_window is not None and max_logins_per_day is not None:
        span = lifetime_range(max_window, max_logins_per_day, active_hours)
        if span is not None:
            for ax in (left, right):
                ax.axvspan(*span, color="#a5d6a7", alpha=0.4)
    fig.tight_layout()
    return fig
