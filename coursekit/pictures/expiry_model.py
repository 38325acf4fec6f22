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
_LOGIN_TICKS = (0.1, 1, 10, 100)


def plot_tradeoff(marks=MATERIAL_MARKS, *, active_hours: float = 8, max_window: float | None = None,
                  max_logins_per_day: float | None = None, points: int = 200):
    """Plot logins per day against the lifetime (1 minute to 30 days, log scales); return the Figure.

    A stolen token's worst-case window is the lifetime itself, so the lifetime axis is also the window axis:
    a limit on the window is a vertical line (the ceiling, L <= max_window), a limit on logins a horizontal
    one, which meets the curve at the floor. Each limit line is labelled; the lifetimes between floor and
    ceiling are shaded green, or, when the floor lies above the ceiling, the gap is shaded red.
    ``marks`` are lifetimes drawn as dashed lines.
    """
    import matplotlib.pyplot as plt  # here, so that the model itself imports nothing heavy
    from matplotlib.ticker import FixedLocator, NullLocator

    lo, hi = 1.0, 30.0 * DAY
    xs = [lo * (hi / lo) ** (i / (points - 1)) for i in range(points)]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.plot(xs, [logins_per_day(x, active_hours) for x in xs], color="#1565c0", label="logins per day")
    ax.set_title(f"Logins per day ({active_hours:g} h active) against the lifetime")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(0.02, 1000)
    ax.set_xlabel("access-token lifetime L  =  how long a token stolen as it is issued works")
    ax.xaxis.set_major_locator(FixedLocator(_TICKS))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([duration_label(t) for t in _TICKS], rotation=45, ha="right")
    ax.yaxis.set_major_locator(FixedLocator(_LOGIN_TICKS))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticklabels([f"{t:g}" for t in _LOGIN_TICKS])
    ax.grid(True, which="major", alpha=0.3)

    def label_line(x, text, color, top=True):
        ax.annotate(text, (x, 1 if top else 0), xycoords=("data", "axes fraction"),
                    xytext=(3, -12 if top else 4), textcoords="offset points", ha="left", fontsize=8, color=color)

    for mark in marks:
        ax.axvline(mark, color="#616161", linestyle="--", linewidth=1)
        label_line(mark, duration_label(mark), "#616161", top=False)
    if max_window is not None:
        ax.axvline(max_window, color="#c62828", linewidth=1.5)
        label_line(max_window, f"ceiling: a thief gets at most {duration_label(max_window)}", "#c62828")
    if max_logins_per_day is not None:
        ax.axhline(max_logins_per_day, color="#2e7d32", linewidth=1.5)
        ax.annotate(f"at most {max_logins_per_day:g} logins a day", (hi, max_logins_per_day),
                    xytext=(-3, 3), textcoords="offset points", ha="right", fontsize=8, color="#2e7d32")
        floor = (_active_minutes(active_hours) / max_logins_per_day if max_logins_per_day >= 1
                 else DAY / max_logins_per_day)
        ax.axvline(floor, color="#2e7d32", linewidth=1.5, linestyle=":")
        label_line(floor, f"floor: {duration_label(floor)}", "#2e7d32", top=max_window is None)
    if max_window is not None and max_logins_per_day is not None:
        span = lifetime_range(max_window, max_logins_per_day, active_hours)
        if span is not None:
            ax.axvspan(*span, color="#a5d6a7", alpha=0.5, label="lifetimes that meet both limits")
        else:
            ax.axvspan(max_window, floor, color="#ef9a9a", alpha=0.5, label="no lifetime meets both limits")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig
