"""The lifetime model of notebook 04: the thief's window, logins per day, the lifetimes that fit, the plot."""

import matplotlib
import pytest

from coursekit.pictures.expiry_model import (DAY, HOUR, WEEK, duration_label, expected_window, lifetime_range,
                                    logins_per_day, plot_tradeoff, token_requests_per_second, worst_case_window)

matplotlib.use("Agg")  # no display in tests


def test_a_thief_has_the_whole_lifetime_at_worst_and_half_on_average():
    assert worst_case_window(30) == 30
    assert expected_window(30) == 15
    assert expected_window(2 * WEEK) == WEEK


@pytest.mark.parametrize("lifetime, logins", [
    (30, 16),            # the material's 30 minutes, 8 hours a day: 16 logins
    (60, 8),
    (8 * HOUR, 1),       # a token as long as the working day: once a day
    (12 * HOUR, 1),      # longer, but gone by tomorrow morning: still once a day
    (DAY, 1),
    (2 * DAY, 0.5),      # outlives the night: once every two days
    (2 * WEEK, 1 / 14),  # the material's two weeks: once a fortnight
])
def test_logins_per_day_for_someone_active_eight_hours(lifetime, logins):
    assert logins_per_day(lifetime) == pytest.approx(logins)


def test_logins_per_day_follow_the_active_hours_and_never_rise_with_the_lifetime():
    assert logins_per_day(60, active_hours=2) == 2
    lifetimes = [1, 5, 30, 60, 479, 480, 481, 1439, 1440, 1441, 10_000, 43_200]
    values = [logins_per_day(L) for L in lifetimes]
    assert values == sorted(values, reverse=True)


def test_token_endpoint_load_is_users_times_logins_spread_over_a_day():
    assert token_requests_per_second(30, users=86_400) == pytest.approx(16)
    assert token_requests_per_second(30, users=100_000) == pytest.approx(18.52, abs=0.01)


@pytest.mark.parametrize("limits, expected", [
    ((240, 4), (120, 240)),          # notebook 04's exercise: 2 to 4 hours
    ((60, 3), None),                 # a bank's limits: nothing fits, hence refresh tokens
    ((60, 8), (60, 60)),             # exactly one lifetime
    ((30 * DAY, 0.5), (2 * DAY, 30 * DAY)),  # fewer than one login a day needs tokens that outlive a day
])
def test_lifetime_range_meets_both_limits_or_says_none(limits, expected):
    assert lifetime_range(*limits) == expected


def test_lifetime_range_ends_are_really_within_the_limits():
    lo, hi = lifetime_range(240, 4)
    for L in (lo, hi, (lo + hi) / 2):
        assert worst_case_window(L) <= 240 and logins_per_day(L) <= 4
    assert logins_per_day(lo * 0.99) > 4 and worst_case_window(hi * 1.01) > 240


def test_lifetime_range_can_limit_the_average_window_instead():
    # An average window of 60 min allows L up to 120 min: still below the 160 min that 3 logins need.
    assert lifetime_range(60, 3, worst_case=False) is None
    assert lifetime_range(120, 3, worst_case=False) == (160, 240)


@pytest.mark.parametrize("bad", [0, -5, "30", None, True, float("nan")])
def test_lifetimes_must_be_positive_numbers(bad):
    with pytest.raises(ValueError, match="positive number of minutes"):
        worst_case_window(bad)
    with pytest.raises(ValueError):
        logins_per_day(bad)


@pytest.mark.parametrize("hours", [0, 25, -1])
def test_active_hours_must_fit_in_a_day(hours):
    with pytest.raises(ValueError, match="active_hours"):
        logins_per_day(30, active_hours=hours)


@pytest.mark.parametrize("minutes, label", [
    (1, "1 min"), (2.5, "2.5 min"), (30, "30 min"), (90, "90 min"), (HOUR, "1 h"), (8 * HOUR, "8 h"),
    (DAY, "1 day"), (3 * DAY, "3 days"), (WEEK, "1 week"), (2 * WEEK, "2 weeks"), (30 * DAY, "30 days"),
])
def test_duration_labels_use_the_largest_whole_unit(minutes, label):
    assert duration_label(minutes) == label


def _span(patch):
    """The lifetimes an axvspan covers (a Rectangle in recent matplotlib, a Polygon in older ones)."""
    if hasattr(patch, "get_width"):
        return patch.get_x(), patch.get_x() + patch.get_width()
    xs = [x for x, _ in patch.get_xy()]
    return min(xs), max(xs)


def _labels(ax):
    return {text.get_text() for text in ax.texts}


def test_the_plot_is_one_panel_with_the_marks_and_a_fixed_text_form():
    import matplotlib.pyplot as plt

    fig = plot_tradeoff()
    try:
        (ax,) = fig.axes
        assert repr(fig) == "<Figure size 800x420 with 1 Axes>"  # what nbval compares
        assert ax.get_xscale() == ax.get_yscale() == "log"
        assert [label.get_text() for label in ax.get_xticklabels()][-1] == "30 days"
        assert _labels(ax) == {"30 min", "2 weeks"}
        assert len(ax.get_lines()) == 1 + 2  # the logins curve and the two marks
        assert not ax.patches
    finally:
        plt.close(fig)


def test_the_plot_labels_both_limits_and_shades_the_lifetimes_that_meet_them():
    import matplotlib.pyplot as plt

    fig = plot_tradeoff(marks=(), max_window=240, max_logins_per_day=4)
    try:
        (ax,) = fig.axes
        assert _labels(ax) == {"ceiling: a thief gets at most 4 h", "at most 4 logins a day", "floor: 2 h"}
        (shade,) = ax.patches
        assert shade.get_label() == "lifetimes that meet both limits"
        assert _span(shade) == pytest.approx((120, 240))
    finally:
        plt.close(fig)


def test_when_nothing_fits_the_plot_shades_the_gap_between_ceiling_and_floor():
    import matplotlib.pyplot as plt

    fig = plot_tradeoff(marks=(), max_window=60, max_logins_per_day=3)
    try:
        (ax,) = fig.axes
        assert _labels(ax) == {"ceiling: a thief gets at most 1 h", "at most 3 logins a day", "floor: 160 min"}
        (gap,) = ax.patches
        assert gap.get_label() == "no lifetime meets both limits"
        assert _span(gap) == pytest.approx((60, 160))
    finally:
        plt.close(fig)
