"""The trade-off of login throttling: the longer the owner may be locked out, the fewer guesses an attacker gets.

Two rules, each with one knob, in guesses at one account per day and the longest the real user waits after
the attacker's last try (both follow from the rules; the lab's measured point is drawn beside them):

- a fixed lockout: ``limit`` failures, then locked until the window ends: ``limit`` guesses per window;
- doubling waits with a cap (the lab's rule, labserver.accounts.throttle): ``limit`` free failures, then
  waits of 1 s, 2 s, 4 s ... up to the cap, so in the long run one guess per cap.
"""

from __future__ import annotations

__all__ = ["fixed_lockout_per_day", "capped_backoff_per_day", "plot_lockout_tradeoff"]

DAY = 86400.0


def fixed_lockout_per_day(window: float, limit: int = 10) -> float:
    """Guesses per day against one account when ``limit`` failures lock it until ``window`` seconds have passed."""
    return limit * DAY / window


def capped_backoff_per_day(cap: float) -> float:
    """Guesses per day, in the long run, when every failure past the limit waits ``cap`` seconds (the lab's rule)."""
    return DAY / cap


def plot_lockout_tradeoff(measured=None):
    """Plot guesses per day against the owner's longest wait, for both rules; ``measured`` is (wait, per day)."""
    import matplotlib.pyplot as plt

    waits = [2 ** (k / 4) for k in range(0, 4 * 17)]  # 1 s to about a day
    fig, ax = plt.subplots(figsize=(8, 4.4))
    ax.plot(waits, [fixed_lockout_per_day(w) for w in waits], color="#c62828",
            label="10 failures, then locked until the window ends")
    ax.plot(waits, [capped_backoff_per_day(w) for w in waits], color="#1565c0",
            label="10 failures, then waits doubling up to a cap (the lab)")
    marks = [(15 * 60, fixed_lockout_per_day(15 * 60), "#c62828", "15-minute lockout"),
             (60, capped_backoff_per_day(60), "#1565c0", "the lab: 1-minute cap")]
    for wait, per_day, colour, label in marks:
        ax.plot([wait], [per_day], "o", color=colour)
        ax.annotate(label, (wait, per_day), textcoords="offset points", xytext=(8, 6), fontsize=8)
    if measured is not None:
        ax.plot([measured[0]], [measured[1]], "x", color="black", markersize=9, label="measured on the lab (1 hour)")
    for label, seconds in (("1 minute", 60), ("1 hour", 3600), ("1 day", DAY)):
        ax.axvline(seconds, color="#9e9e9e", linewidth=0.8, linestyle="--")
        ax.text(seconds, 2e5, label, rotation=90, va="top", ha="right", fontsize=8,
                color="#616161")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("longest the real user waits after the attacker's last guess (s)")
    ax.set_ylabel("guesses at one account per day")
    ax.set_title("Locking the owner out longer buys fewer guesses, never none")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig
