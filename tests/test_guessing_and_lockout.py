"""Lesson 06's online guesser and its trade-off picture: the guesser goes exactly as fast as the server lets it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from coursekit.labtools.guessing import attempt, guess_for  # noqa: E402
from coursekit.labtools.lab import start_lab, stop_lab  # noqa: E402
from coursekit.pictures.lockout import capped_backoff_per_day, fixed_lockout_per_day, plot_lockout_tradeoff  # noqa: E402


def checked_by_the_rule(seconds: float, limit: int = 10, cap: float = 60) -> int:
    """How many guesses the lab's rule lets a perfect guesser make in ``seconds``, worked out on paper."""
    t, times = 0.0, []
    while t < seconds:
        if len(times) < limit or t >= times[-1] + min(cap, 2 ** (len(times) - limit)):
            times.append(t)
        else:
            t = times[-1] + min(cap, 2 ** (len(times) - limit))
    return len(times)


def test_the_guesser_gets_what_the_rule_allows_and_the_owner_gets_in_after_one_wait():
    lab = start_lab("guessing-test")
    try:
        run = guess_for(lab, "bob", hours=1)
        assert run.checked == checked_by_the_rule(3600)
        assert run.longest_wait == 60 and run.refused == run.checked - 10 + 1
        assert run.per_day == run.checked * 24
        # The owner, after the guesser's hour: one wait at most, then in.
        status, retry, said = attempt(lab, "bob", "bob-password")
        if status == 429:  # the guesser's last wait may still run
            assert retry <= 60 and "failed logins in a row for this account name" in said
            lab.clock.advance(retry)
            status, retry, said = attempt(lab, "bob", "bob-password")
        assert (status, retry, said) == (200, None, "logged in")
    finally:
        stop_lab("guessing-test")


def test_the_two_rules_in_guesses_per_day():
    assert fixed_lockout_per_day(15 * 60) == 960
    assert capped_backoff_per_day(60) == 1440


def test_the_picture_draws_both_rules_and_the_measured_point():
    fig = plot_lockout_tradeoff((60, 1824))
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "10 failures, then locked until the window ends" in labels
    assert "10 failures, then waits doubling up to a cap (the lab)" in labels
    assert "measured on the lab (1 hour)" in labels
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
