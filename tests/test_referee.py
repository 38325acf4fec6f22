"""The lab's referee for grading client code (labserver.control.referee): off by default, a token-request
budget answered with 429 past it, a refresh held until a second one races it, both ended by a reset."""

from __future__ import annotations

import threading

from coursekit.labtools.lab import fresh_lab
from tests.conftest import Auth, make_client

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def test_off_by_default_every_token_request_is_served(client):
    auth = Auth(client)
    for _ in range(30):
        auth.token()
    assert client.get("/lab/referee").json() == {"budget": None, "hold_refresh": 0.0, "refuse_access": False,
                                                 "token_requests": 30}


def test_past_the_budget_the_token_endpoint_answers_429_and_the_audit_notes_it_once(client):
    auth = Auth(client)
    r = client.put("/lab/referee", json={"budget": 2})
    assert r.status_code == 200, r.text
    assert r.json() == {"budget": 2, "hold_refresh": 0.0, "refuse_access": False, "token_requests": 0}
    tokens = auth.token()
    assert auth.refresh(tokens["refresh_token"]).status_code == 200
    for _ in range(2):
        r = client.post("/oauth/token", data={"grant_type": "password", "username": "alice",
                                              "password": "alice-password"})
        assert r.status_code == 429, r.text
        assert r.json() == {"error": "too_many_requests", "error_description":
                            "this lab allows 2 token requests for this check, and they are spent: the client is looping"}
        assert {k: r.headers[k] for k in NO_STORE} == NO_STORE
    events = [e["event"] for e in client.get("/lab/audit").json()]
    assert events.count("token_budget_spent") == 1 and events.count("login") == 1
    assert client.get("/lab/referee").json()["token_requests"] == 4


def test_refuse_access_refuses_every_access_token_new_ones_too_until_switched_off(client):
    auth = Auth(client)
    tokens = auth.token()
    assert client.put("/lab/referee", json={"refuse_access": True}).json()["refuse_access"] is True
    renewed = auth.refresh(tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text  # the token endpoint still serves
    for token in (tokens["access_token"], renewed.json()["access_token"]):
        r = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"], r.text
        assert r.json()["error_description"] == "this check has the lab refuse every access token, new ones too"
    client.put("/lab/referee", json={})
    r = client.get("/api/me", headers={"Authorization": f"Bearer {renewed.json()['access_token']}"})
    assert r.status_code == 200, r.text


def test_a_reset_ends_the_budget_and_the_hold(client):
    client.put("/lab/referee", json={"budget": 0, "hold_refresh": 1.5, "refuse_access": True})
    assert client.post("/lab/reset").status_code == 200
    assert client.get("/lab/referee").json() == {"budget": None, "hold_refresh": 0.0, "refuse_access": False,
                                                 "token_requests": 0}
    Auth(client).token()


def test_bad_referee_settings_are_a_400_not_a_change(client):
    for body in ({"budget": -1}, {"hold_refresh": 60.0}, {"budget": "10"}, {"other": 1}, {"refuse_access": "yes"}):
        assert client.put("/lab/referee", json=body).status_code == 400, body
    assert client.get("/lab/referee").json()["budget"] is None


def test_only_where_the_lab_controls_are():
    with make_client(lab_controls=False) as c:
        assert c.put("/lab/referee", json={"budget": 1}).status_code == 404


def test_the_hold_makes_two_refreshes_of_one_token_meet_at_the_server():
    """Two threads refresh with the same token; the first is held until the second arrives: one is reuse."""
    lab = fresh_lab()
    import requests

    tokens = requests.post(lab.url + "/oauth/token", data={"grant_type": "password", "username": "alice",
                                                           "password": "alice-password"}, timeout=10).json()
    lab.call("PUT", "/lab/referee", json={"hold_refresh": 2.0})
    answers = []

    def refresh():
        answers.append(requests.post(lab.url + "/oauth/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(answers) == [200, 400]
    assert [e["event"] for e in lab.audit()].count("reuse_detected") == 1


def test_a_lone_refresh_waits_the_hold_then_is_served():
    lab = fresh_lab()
    import time

    import requests

    tokens = requests.post(lab.url + "/oauth/token", data={"grant_type": "password", "username": "alice",
                                                           "password": "alice-password"}, timeout=10).json()
    lab.call("PUT", "/lab/referee", json={"hold_refresh": 0.3})
    started = time.monotonic()
    r = requests.post(lab.url + "/oauth/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200 and 0.3 <= time.monotonic() - started < 3


def test_the_hold_keeps_the_first_refused_access_until_a_second_is_refused():
    """Both racing callers hold a 401 before either can refresh, whichever the machine happened to run first:
    the first refusal is answered only once a second arrives (or the hold ends)."""
    import requests

    lab = fresh_lab()
    lab.call("PUT", "/lab/referee", json={"hold_refresh": 5.0})
    login = requests.post(lab.url + "/oauth/token", data={"grant_type": "password", "username": "alice",
                                                          "password": "alice-password"}, timeout=10).json()
    stale = {"Authorization": "Bearer " + login["access_token"]}
    lab.clock.advance(3600)
    first: list = []
    caller = threading.Thread(target=lambda: first.append(requests.get(lab.url + "/api/me", headers=stale,
                                                                         timeout=10).status_code))
    caller.start()
    while not any(e["event"] == "verification_failed" for e in lab.audit()):
        caller.join(0.05)  # until the first refusal reached the lab (noted before it is held)
    caller.join(0.5)
    assert caller.is_alive() and not first  # held: no answer yet
    second = requests.get(lab.url + "/api/me", headers=stale, timeout=10)
    caller.join(10)
    assert (first, second.status_code) == ([401], 401)
