"""Notebook 05's exercises: every reference solution passes, and typical mistakes get a message that says why."""

import pytest
import requests

from coursekit.exercises import ex05
from coursekit.kit.exercise import Status, ____
from exercise_helpers import incorrect, reference


@pytest.mark.parametrize("exercise", [ex05.q1, ex05.q2, ex05.q3, ex05.q4], ids=["q1", "q2", "q3", "q4"])
def test_every_reference_solution_is_correct(exercise):
    outcome = exercise.evaluate(reference(exercise))
    assert outcome.status is Status.CORRECT, outcome.text


# --- code that still holds the placeholder ------------------------------------------------------------

def test_a_function_or_class_that_still_uses_the_placeholder_is_not_answered_yet():
    def refresh(url, refresh_token):
        ____

    def nested(events):
        return {e for e in events if e == ____}  # inside a comprehension's own code object

    class Auth(requests.auth.AuthBase):
        def __call__(self, request):
            request.headers["Authorization"] = ____
            return request

    for exercise, answer in [(ex05.q1, refresh), (ex05.q2, nested), (ex05.q4, Auth)]:
        outcome = exercise.evaluate(answer)
        assert outcome.status is Status.NOT_ANSWERED, outcome.text
        assert f"{exercise.name}.hint()" in outcome.message


def test_an_answer_that_is_not_code_is_incorrect_not_a_crash():
    incorrect(ex05.q1.evaluate("refresh"), "pass your function itself")
    incorrect(ex05.q4.evaluate(object), "subclass of requests.auth.AuthBase")


# --- q1: refresh ------------------------------------------------------------------------------------

def test_q1_returning_the_refresh_token_that_was_sent_in():
    def refresh(url, refresh_token):
        tokens = requests.post(url + "/oauth/token",
                               data={"grant_type": "refresh_token", "refresh_token": refresh_token}).json()
        return tokens["access_token"], refresh_token

    incorrect(ex05.q1.evaluate(refresh), "the refresh token you sent in", "Return the new one")


def test_q1_returning_the_whole_answer():
    def refresh(url, refresh_token):
        return requests.post(url + "/oauth/token",
                             data={"grant_type": "refresh_token", "refresh_token": refresh_token}).json()

    incorrect(ex05.q1.evaluate(refresh), "return a pair (access_token, refresh_token)")


def test_q1_the_wrong_grant_type_shows_what_the_server_said():
    def refresh(url, refresh_token):
        r = requests.post(url + "/oauth/token", data={"grant_type": "refresh", "refresh_token": refresh_token})
        r.raise_for_status()

    incorrect(ex05.q1.evaluate(refresh), "POST /oauth/token with 400", "unsupported_grant_type",
              "grant_type must be the string 'refresh_token'")


def test_q1_json_instead_of_a_form():
    def refresh(url, refresh_token):
        r = requests.post(url + "/oauth/token",
                          json={"grant_type": "refresh_token", "refresh_token": refresh_token})
        r.raise_for_status()

    incorrect(ex05.q1.evaluate(refresh), "invalid_request", "not json=")


def test_q1_the_pair_the_wrong_way_round():
    def refresh(url, refresh_token):
        tokens = requests.post(url + "/oauth/token",
                               data={"grant_type": "refresh_token", "refresh_token": refresh_token}).json()
        return tokens["refresh_token"], tokens["access_token"]

    incorrect(ex05.q1.evaluate(refresh), "wrong way round")


def test_q1_refreshing_twice_in_one_call():
    def refresh(url, refresh_token):
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        requests.post(url + "/oauth/token", data=form)  # a "test" request first...
        tokens = requests.post(url + "/oauth/token", data=form).json()  # ...makes this one a reuse
        return tokens.get("access_token", "a.b.c"), tokens.get("refresh_token", "x")

    incorrect(ex05.q1.evaluate(refresh), "sent the refresh token more than once", "revoked the whole login")


# --- q2: spot the stolen logins ---------------------------------------------------------------------

def test_q2_every_revoked_family_includes_the_logout():
    def revoked_for_reuse(events):
        return {e["family"] for e in events if e["event"] == "family_revoked"}

    incorrect(ex05.q2.evaluate(revoked_for_reuse), "was revoked, but for 'revoked by the client'")


def test_q2_only_the_first_reuse():
    def revoked_for_reuse(events):
        for e in events:
            if e["event"] == "reuse_detected":
                return {e["family"]}
        return set()

    incorrect(ex05.q2.evaluate(revoked_for_reuse), "you found 1 of the 2 stolen logins")


def test_q2_reading_a_key_that_not_every_event_has():
    def revoked_for_reuse(events):
        return {e["family"] for e in events if e["reason"] == "refresh token reused"}

    incorrect(ex05.q2.evaluate(revoked_for_reuse), "KeyError", "'reset' or 'clock_changed' event")


def test_q2_one_string_instead_of_a_set():
    def revoked_for_reuse(events):
        return next((e["family"] for e in events if e["event"] == "reuse_detected"), "")

    incorrect(ex05.q2.evaluate(revoked_for_reuse), "return a set of family ids")


def test_q2_every_family_that_refreshed():
    def revoked_for_reuse(events):
        return {e["family"] for e in events if e["event"] == "refresh"}

    incorrect(ex05.q2.evaluate(revoked_for_reuse), "is a login that is still live")


def test_q2_user_ids_are_not_family_ids():
    def revoked_for_reuse(events):
        return {e["user_id"] for e in events if e["event"] == "reuse_detected"}

    incorrect(ex05.q2.evaluate(revoked_for_reuse), "is not a family id")


# --- q3: log out ------------------------------------------------------------------------------------

def test_q3_the_reference_solution_shows_both_kinds_of_server():
    outcome = ex05.q3.evaluate(reference(ex05.q3))
    assert outcome.status is Status.CORRECT, outcome.text
    assert "with a denylist the access token got 401 (token has been revoked)" in outcome.message
    assert "it got 200 and would keep working until 09:30:00" in outcome.message


def test_q3_also_revoking_the_access_token_is_fine_if_the_400_is_no_failure():
    def log_out(url, tokens):
        revoke = url + "/oauth/revoke"
        requests.post(revoke, data={"token": tokens["refresh_token"]}).raise_for_status()
        requests.post(revoke, data={"token": tokens["access_token"], "token_type_hint": "access_token"})
        tokens.clear()

    assert ex05.q3.evaluate(log_out).status is Status.CORRECT


def test_q3_revoking_without_forgetting_the_tokens():
    def log_out(url, tokens):
        requests.post(url + "/oauth/revoke", data={"token": tokens["refresh_token"]}).raise_for_status()

    incorrect(ex05.q3.evaluate(log_out), "still holds access_token and refresh_token", "/api/me answered 200",
              "until its exp, 09:30:00", "tokens.clear()")


def test_q3_rebinding_the_name_does_not_empty_the_apps_dict():
    def log_out(url, tokens):
        requests.post(url + "/oauth/revoke", data={"token": tokens["refresh_token"]}).raise_for_status()
        tokens = {}  # noqa: F841 - the mistake under test

    incorrect(ex05.q3.evaluate(log_out), "still holds", "only rebinds")


def test_q3_forgetting_only_the_refresh_token():
    def log_out(url, tokens):
        requests.post(url + "/oauth/revoke", data={"token": tokens.pop("refresh_token")}).raise_for_status()

    incorrect(ex05.q3.evaluate(log_out), "the app still holds access_token.")


def test_q3_clearing_before_reading():
    def log_out(url, tokens):
        tokens.clear()
        requests.post(url + "/oauth/revoke", data={"token": tokens["refresh_token"]})

    incorrect(ex05.q3.evaluate(log_out), "KeyError 'refresh_token'", "before you clear")


def test_q3_failing_on_unsupported_token_type():
    def log_out(url, tokens):
        revoke = url + "/oauth/revoke"
        requests.post(revoke, data={"token": tokens["refresh_token"]}).raise_for_status()
        requests.post(revoke, data={"token": tokens["access_token"], "token_type_hint": "access_token"}
                      ).raise_for_status()
        tokens.clear()

    incorrect(ex05.q3.evaluate(log_out), "without a denylist your function raised", "unsupported_token_type",
              "RFC 7009 §2.2.1", "revoking the refresh token is what ends the login")


def test_q3_revoking_only_the_access_token():
    def log_out(url, tokens):
        requests.post(url + "/oauth/revoke",
                      data={"token": tokens["access_token"], "token_type_hint": "access_token"})

    incorrect(ex05.q3.evaluate(log_out), "the login is still live", "tokens['refresh_token']")


def test_q3_a_session_logout_is_for_cookies():
    def log_out(url, tokens):
        requests.post(url + "/session/logout")

    incorrect(ex05.q3.evaluate(log_out), "still live", "POST /session/logout ends a cookie session")


def test_q3_ending_the_login_by_replaying_the_refresh_token():
    def log_out(url, tokens):
        form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        requests.post(url + "/oauth/token", data=form)
        requests.post(url + "/oauth/token", data=form)

    incorrect(ex05.q3.evaluate(log_out), "for 'refresh token reused'", "/oauth/revoke")


# --- q4: the refreshing auth class -------------------------------------------------------------------

def auth_class(on_response):
    """A RefreshingAuth like the reference one, with another on_response."""

    class Auth(requests.auth.AuthBase):
        def __init__(self, token_url, access_token, refresh_token):
            self.token_url, self.access_token, self.refresh_token = token_url, access_token, refresh_token

        def __call__(self, request):
            request.headers["Authorization"] = f"Bearer {self.access_token}"
            request.register_hook("response", self.on_response)
            return request

    Auth.on_response = on_response
    return Auth


def refresh_and_retry(auth, response, kwargs, *, keep_refresh=True):
    answer = requests.post(auth.token_url,
                           data={"grant_type": "refresh_token", "refresh_token": auth.refresh_token})
    if answer.status_code != 200:
        return response
    tokens = answer.json()
    auth.access_token = tokens["access_token"]
    if keep_refresh:
        auth.refresh_token = tokens["refresh_token"]
    retry = response.request.copy()
    retry.headers["Authorization"] = f"Bearer {auth.access_token}"
    return response.connection.send(retry, **kwargs)


def test_q4_a_class_that_never_refreshes():
    incorrect(ex05.q4.evaluate(auth_class(lambda self, response, **kw: response)),
              "did not refresh", "error=\"invalid_token\"")


def test_q4_refreshing_on_a_403_too():
    def on_response(self, response, **kwargs):
        return response if response.ok else refresh_and_retry(self, response, kwargs)

    incorrect(ex05.q4.evaluate(auth_class(on_response)), "refreshed after a 403", "insufficient_scope")


def test_q4_forgetting_the_rotated_refresh_token():
    def on_response(self, response, **kwargs):
        if response.status_code != 401:
            return response
        return refresh_and_retry(self, response, kwargs, keep_refresh=False)

    incorrect(ex05.q4.evaluate(auth_class(on_response)), "keep the NEW refresh token")


def test_q4_refreshing_without_retrying():
    def on_response(self, response, **kwargs):
        if response.status_code == 401:
            tokens = requests.post(self.token_url, data={"grant_type": "refresh_token",
                                                         "refresh_token": self.refresh_token}).json()
            self.access_token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
        return response

    incorrect(ex05.q4.evaluate(auth_class(on_response)), "your class refreshed, but the request came back 401")


def test_q4_raising_when_the_refresh_is_refused():
    def on_response(self, response, **kwargs):
        if response.status_code != 401:
            return response
        answer = requests.post(self.token_url, data={"grant_type": "refresh_token",
                                                     "refresh_token": self.refresh_token})
        answer.raise_for_status()  # a refused refresh becomes an exception instead of the 401
        tokens = answer.json()
        self.access_token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {self.access_token}"
        return response.connection.send(retry, **kwargs)

    incorrect(ex05.q4.evaluate(auth_class(on_response)), "your class raised HTTPError", "Return the 401")


def test_q4_retrying_forever_is_stopped_and_explained(monkeypatch):
    monkeypatch.setattr(ex05, "_GIVE_UP_AFTER", 1.0)

    def on_response(self, response, **kwargs):
        if response.status_code != 401:
            return response
        while True:  # "until it works": never, once the login is revoked
            answer = requests.post(self.token_url, data={"grant_type": "refresh_token",
                                                         "refresh_token": self.refresh_token})
            if answer.ok:
                break
        tokens = answer.json()
        self.access_token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {self.access_token}"
        return response.connection.send(retry, **kwargs)

    outcome = ex05.q4.evaluate(auth_class(on_response))
    assert outcome.text == ("✘ Incorrect: when the refresh was refused, your class kept trying, more than 10 token "
                            "requests: try one refresh; if it fails, return the 401 so the app can ask the user to "
                            "log in. It was stopped")
    # The loop was stopped; the next check works.
    assert ex05.q4.evaluate(reference(ex05.q4)).status is Status.CORRECT


def test_q4_a_class_that_keeps_its_refresh_token_under_another_name_is_right():
    """The check ends the login at the lab; it does not read an attribute called refresh_token."""
    source = ex05.q4.solution_source().replace("self.refresh_token", "self._spare")
    namespace = {"requests": requests}
    exec(source, namespace)  # noqa: S102 - our own reference solution, renamed
    assert ex05.q4.evaluate(namespace["RefreshingAuth"]).status is Status.CORRECT
