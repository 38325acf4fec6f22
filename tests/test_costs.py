"""The cost chart of notebook 05: real requests to real lab servers, every one answered 200, servers gone after."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import matplotlib
import pytest

from coursekit.labtools import lab as labs
from coursekit.pictures.costs import LABS, METHODS, REQUESTS, ROUNDS, measure_costs, plot_costs, time_requests

matplotlib.use("Agg")  # no display in tests


def test_measure_costs_times_every_method_and_stops_the_servers_it_started():
    before = set(labs._labs)

    costs = measure_costs(requests=6, rounds=2)

    assert list(costs) == [label for label, *_ in METHODS]
    assert all(0 < seconds < 1 for seconds in costs.values()), costs
    assert {label: len(turns) for label, turns in costs.turns.items()} == {label: 2 for label in costs}
    assert costs == {label: (turns[0] + turns[1]) / 2 for label, turns in costs.turns.items()}  # the median
    assert costs.requests == 6
    assert set(labs._labs) == before, "measure_costs left lab servers running"


def test_the_lesson_measures_75_requests_of_each_kind_in_5_turns():
    # Lesson 05 says so, and why that is enough: keep the text and the code in step.
    assert (REQUESTS, ROUNDS) == (75, 5)


def test_the_jwt_methods_are_verified_in_full_except_the_remembered_one():
    servers = {name for _label, name, _path, auth in METHODS if auth == "bearer"}
    settings = LABS
    remembering = {name for name in servers if settings[name].get("remember_tokens", 256) != 0}
    assert remembering == {"cost-remembered"}


def test_a_request_that_is_not_answered_200_is_an_error_not_a_measurement():
    server = labs.start_lab("cost-test")
    connection = http.client.HTTPConnection(urlsplit(server.url).hostname, server.port, timeout=10)
    try:
        assert time_requests(connection, "/api/hello", {}, 2) > 0
        with pytest.raises(RuntimeError, match="GET /api/me answered 401"):
            time_requests(connection, "/api/me", {"Authorization": "Bearer not-a-token"}, 2)
    finally:
        connection.close()
        labs.stop_lab("cost-test")


def test_the_chart_has_a_bar_per_method_in_order_labelled_with_its_time_and_what_it_adds():
    costs = {label: (100 + 10 * i) / 1e6 for i, (label, *_rest) in enumerate(METHODS)}

    fig = plot_costs(costs)

    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(costs)
    assert [round(bar.get_width()) for bar in ax.patches] == [100 + 10 * i for i in range(len(METHODS))]
    notes = [text.get_text() for text in ax.texts]
    assert notes[0] == "100 µs"
    assert notes[2] == "120 µs +20 µs"
    assert repr(fig) == "<Figure size 800x320 with 1 Axes>"  # what nbval compares: nothing that varies


def test_the_chart_draws_every_turn_as_a_tick_and_labels_right_of_the_ticks():
    from coursekit.pictures.costs import Costs

    turns = {label: [(100 + 10 * i) / 1e6, (300 + 10 * i) / 1e6, (110 + 10 * i) / 1e6]
             for i, (label, *_rest) in enumerate(METHODS)}
    costs = Costs(turns, 75)

    fig = plot_costs(costs)

    ax = fig.axes[0]
    assert [round(bar.get_width()) for bar in ax.patches] == [110 + 10 * i for i in range(len(METHODS))]
    ticks = [[round(x) for x in line.get_xdata()] for line in ax.lines]
    assert ticks == [[100 + 10 * i, 300 + 10 * i, 110 + 10 * i] for i in range(len(METHODS))]
    assert [round(text.xy[0]) for text in ax.texts] == [300 + 10 * i for i in range(len(METHODS))]
    assert "75 requests of each kind in 3 turns" in ax.get_xlabel()
    assert repr(fig) == "<Figure size 800x320 with 1 Axes>"
