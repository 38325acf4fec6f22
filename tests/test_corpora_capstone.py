"""The capstone's corpora (tests/corpora/ex09.py): every client and verifier loses exactly the behaviours named,
each with the reason the learner reads; right answers written differently from the reference lose nothing."""

from __future__ import annotations

import time

import pytest

from coursekit.exercises.ex09 import client as capstone_client
from coursekit.exercises.ex09 import q1, q2
from corpora import ex09

# A deadlocked client waits this long per call here (the course's limit is CALL_TIMEOUT, 15 s).
SHORT = 2


def _lost(exercise, answer) -> dict[str, str]:
    return {b.name: wrong for b, wrong in exercise.results(answer) if wrong}


def _assert_lost(exercise, answer, expected: dict[str, str]) -> None:
    lost = _lost(exercise, answer)
    assert set(lost) == set(expected), lost
    for name, fragment in expected.items():
        assert fragment in lost[name], (name, lost[name])


@pytest.mark.parametrize("name", list(ex09.CLIENTS))
def test_each_client_loses_exactly_its_behaviours(name, monkeypatch):
    monkeypatch.setattr(capstone_client, "CALL_TIMEOUT", SHORT)
    answer, expected = ex09.CLIENTS[name]
    started = time.monotonic()
    _assert_lost(q1, answer, expected)
    # Five behaviours, each ending within its limit (plus the stop's grace) even for a deadlocked client.
    assert time.monotonic() - started < 5 * (SHORT + 3) + 10


@pytest.mark.parametrize("name", list(ex09.VERIFIERS))
def test_each_verifier_loses_exactly_its_behaviours(name):
    answer, expected = ex09.VERIFIERS[name]
    _assert_lost(q2, answer, expected)


@pytest.mark.parametrize("name", list(ex09.HIDDEN_ONLY))
def test_mistakes_only_the_hidden_cases_show_lose_points_there(name):
    exercise = q2 if name in ex09.VERIFIERS else q1
    answer, visible = ex09.VERIFIERS.get(name) or ex09.CLIENTS[name]
    lost = {b.name: wrong for b, wrong in exercise.results(answer, hidden=True) if wrong}
    assert set(lost) == set(visible) | set(ex09.HIDDEN_ONLY[name]), lost
    for behaviour, fragment in ex09.HIDDEN_ONLY[name].items():
        assert fragment in lost[behaviour], lost[behaviour]


@pytest.mark.parametrize("name", ["urllib, login in __init__, PermissionError, a Condition",
                                  "requests, lazy login, an RLock, two tries"])
def test_right_clients_also_pass_the_hidden_cases(name):
    assert {b.name for b, wrong in q1.results(ex09.CLIENTS[name][0], hidden=True) if wrong} == set()


@pytest.mark.parametrize("name", ["requests, a generation counter"])
def test_more_right_clients_pass_the_hidden_cases(name):
    assert {b.name for b, wrong in q1.results(ex09.CLIENTS[name][0], hidden=True) if wrong} == set()


def test_a_lock_without_asking_makes_one_refresh_per_racing_caller_in_the_hidden_cases_too():
    """With 3 to 5 callers, every one refreshes in turn: the message counts them, at the server."""
    lost = {b.name: wrong for b, wrong in
            q1.results(ex09.CLIENTS["a lock, but no 'already renewed?' inside it"][0], hidden=True) if wrong}
    assert set(lost) == {"race"}, lost
    callers = capstone_client._case(True)["callers"]
    assert (f"{callers} calls at once after one expiry made {callers} refreshes at the server, one after another"
            in lost["race"]), lost["race"]
    assert "is the access token still the one that got the 401?" in lost["race"]


@pytest.mark.parametrize("name", ["RS256 by hand with cryptography, 60 s of leeway",
                                  "PyJWT, typ as a media type, 60 s of leeway"])
def test_right_verifiers_also_pass_the_hidden_cases(name):
    assert {b.name for b, wrong in q2.results(ex09.VERIFIERS[name][0], hidden=True) if wrong} == set()
