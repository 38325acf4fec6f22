"""Lesson 05's pictures of one login, read from the audit log: the timeline and the sequence diagram."""

import matplotlib
import pytest
import requests

from coursekit.pictures.audit_sequence import messages, plot_sequence
from coursekit.labtools.client import log_in
from coursekit.labtools.lab import start_lab, stop_lab
from coursekit.pictures.login_timeline import event_time, plot_login_timeline, read_login

matplotlib.use("Agg")  # no display in tests

T0 = event_time({"at": "2030-01-07T09:00:00Z"})


def ev(i, hhmm, event, **details):
    return {"id": i, "at": f"2030-01-07T{hhmm}:00Z", "event": event, **details}


# A login, two refreshes, a reuse that revokes the family, another login that is not this story's.
STORY = [
    ev(1, "09:00", "login", via="token", username="bob", family="F"),
    ev(2, "09:30", "clock_changed", now="x", frozen=True),
    ev(3, "09:30", "refresh", username="bob", family="F", role="user"),
    ev(4, "09:40", "login", via="token", username="alice", family="G"),
    ev(5, "09:50", "refresh", username="bob", family="F", role="user"),
    ev(6, "10:00", "reuse_detected", family="F", user_id=2),
    ev(7, "10:00", "family_revoked", family="F", reason="refresh token reused"),
    ev(8, "10:00", "refresh_denied", reason="refresh token was already used"),
]


def test_each_login_and_refresh_starts_an_access_token_of_the_access_lifetime():
    life = read_login(STORY, access_ttl=1800)
    assert life.family == "F"
    assert life.access_tokens == [("login", T0, T0 + 1800), ("refresh", T0 + 1800, T0 + 3600),
                                  ("refresh", T0 + 3000, T0 + 4800)]
    assert life.refreshes == [T0 + 1800, T0 + 3000]


def test_the_reuse_the_revocation_and_the_refusal_are_read():
    life = read_login(STORY, access_ttl=1800)
    assert life.reuses == [T0 + 3600]
    assert life.revoked == (T0 + 3600, "refresh token reused")
    assert life.refused == [(T0 + 3600, "refresh token was already used")]


def test_another_family_can_be_chosen_and_a_missing_one_is_an_error():
    assert read_login(STORY, 600, family="G").access_tokens == [("login", T0 + 2400, T0 + 3000)]
    with pytest.raises(ValueError, match="no login or refresh of family H"):
        read_login(STORY, 600, family="H")


def test_the_timeline_has_a_bar_per_access_token_and_the_family_above():
    fig = plot_login_timeline(STORY, 1800, notes={T0 + 2700: "refresh token copied"})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["access token 3 (refresh)", "access token 2 (refresh)", "access token 1 (login)",
                      "refresh-token family"]
    texts = [t.get_text() for t in ax.texts]
    assert "09:00–09:30" in texts and "09:50–10:20" in texts
    notes = [a.get_text() for a in ax.texts if a.get_text().startswith(("refresh token copied", "family revoked"))]
    assert sorted(notes) == ["family revoked: refresh token reused", "refresh token copied"]


def test_the_messages_of_the_sequence_diagram():
    steps = messages(STORY[:3] + STORY[5:])
    assert steps[0] == ("09:00:00", "client", "server", "POST /oauth/token  grant_type=password")
    assert [s[1:3] for s in steps[:3]] == [("client", "server"), ("server", "store"), ("server", "client")]
    assert ("10:00:00", "server", "store", "revoke the family: refresh token reused") in steps
    assert steps[-1] == ("10:00:00", "server", "client", "400 invalid_grant: refresh token was already used")
    assert not [s for s in steps if "clock" in s[3]]


def test_the_sequence_diagram_draws_one_arrow_per_message():
    fig = plot_sequence(STORY)
    arrows = [a for a in fig.axes[0].texts if a.get_text() == "" and getattr(a, "arrow_patch", None)]
    assert len(arrows) == len(messages(STORY))
    with pytest.raises(ValueError):
        plot_sequence([ev(1, "09:00", "clock_changed")])


def test_a_real_lab_story_reads_back_as_told():
    lab = start_lab("test-login-timeline")
    try:
        tokens = log_in(lab, "bob")
        lab.clock.advance(minutes=30)
        spent = tokens["refresh_token"]
        tokens = requests.post(lab.url + "/oauth/token", data={"grant_type": "refresh_token",
                                                              "refresh_token": spent}).json()
        lab.clock.advance(minutes=5)
        r = requests.post(lab.url + "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": spent})
        assert r.status_code == 400, r.text
        life = read_login(lab.audit(), lab.settings.access_ttl)
        assert [how for how, _, _ in life.access_tokens] == ["login", "refresh"]
        assert life.revoked[1] == "refresh token reused" and len(life.reuses) == 1 and len(life.refused) == 1
    finally:
        stop_lab("test-login-timeline")
