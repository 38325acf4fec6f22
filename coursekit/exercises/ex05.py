"""Exercises of notebook 05: refresh with rotation, spot stolen logins, log out, a client that refreshes.

The answers are functions and a class. A check calls them on a lab server of its own
(``coursekit.labtools.lab.fresh_lab``), never on the notebook's labs, and judges what the server saw: its audit log
and its store.
"""

from __future__ import annotations

import hashlib
import inspect

import requests

from coursekit.labtools.client import bearer, claims, http_session, lab_time, log_in
from coursekit.kit.diagnosis import LabError, forget_lab_errors, raised
from coursekit.kit.exercise import Exercise, Incorrect
from coursekit.kit.timelimit import run_limited
from coursekit.labtools.lab import fresh_lab
from coursekit.exercises.referee import budget_spent, end_logins, referee
from labserver import LabServer

__all__ = ["q1", "q2", "q3", "q4"]


def _refresh(server: LabServer, refresh_token: str) -> requests.Response:
    return http_session().post(server.url + "/oauth/token", timeout=10,
                               data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def _revoke(server: LabServer, token: str) -> requests.Response:
    return http_session().post(server.url + "/oauth/revoke", data={"token": token}, timeout=10)


def _me(server: LabServer, access_token: str) -> requests.Response:
    return http_session().get(server.url + "/api/me", headers=bearer(access_token), timeout=10)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _rows(server: LabServer, table: str, key: str) -> dict:
    return {row[key]: row for row in server.table(table)}


def _events(server: LabServer, *names: str) -> list[dict]:
    return [e for e in server.audit() if e["event"] in names]


def _endpoints(server: LabServer) -> set[str]:
    return {kind for kind, counts in server.stats().items() if counts["requests"]}


def _server_said(error: BaseException) -> str | None:
    """What the lab answered, read from the error a client raised for it (requests', httpx's or urllib's), if any."""
    said = LabError.raised_with(error)
    if said is None:
        return None
    return f"{said.path} answered {said.status} {{'error': {said.error!r}, 'error_description': {said.description!r}}}"


# --- q1 -------------------------------------------------------------------------------------------

class Refresh(Exercise):
    title = "Refresh, and keep the new refresh token"
    _hints = [
        "POST a form (data=...) to url + '/oauth/token' with two fields: grant_type and refresh_token.",
        "grant_type is the string 'refresh_token'. The JSON answer has access_token and refresh_token.",
        "return tokens['access_token'], tokens['refresh_token']: the NEW refresh token from the answer.",
    ]

    def _call(self, refresh, lab: LabServer, refresh_token: str) -> tuple[str, str]:
        forget_lab_errors()
        try:
            result = refresh(lab.url, refresh_token)
        except Exception as error:  # the learner's line, and the server's own error answer if there was one
            raise raised("refresh", error, advice={
                "unsupported_grant_type": "grant_type must be the string 'refresh_token'",
                "invalid_request": "Send a form (data={...}, not json=) with grant_type and refresh_token",
                "invalid_grant": "Send the refresh token you were given, as the form field refresh_token",
            }) from None
        if isinstance(result, (dict, requests.Response)):
            raise Incorrect("return a pair (access_token, refresh_token), not the whole answer")
        if not (isinstance(result, (tuple, list)) and len(result) == 2
                and all(isinstance(item, str) for item in result)):
            raise Incorrect(f"return a pair of strings (access_token, refresh_token), not {result!r}")
        access, new = result
        if access.count(".") != 2 and new.count(".") == 2:
            raise Incorrect("the pair is the wrong way round: the access token (a JWT) comes first")
        if new == refresh_token:
            raise Incorrect("the second item is the refresh token you sent in: after a refresh it is spent. "
                            "Return the new one from the answer's refresh_token")
        if access.count(".") != 2:
            raise Incorrect("the first item is not a JWT: return the answer's access_token first")
        return access, new

    def _check(self, refresh):
        if not callable(refresh):
            raise Incorrect("pass your function itself: q1.check(refresh)")
        lab = fresh_lab()
        first = log_in(lab, "alice")["refresh_token"]
        access, second = self._call(refresh, lab, first)
        if _events(lab, "reuse_detected"):
            raise Incorrect("your function sent the refresh token more than once: the second use was a reuse, "
                            "and the server revoked the whole login. Send it exactly once")
        refreshes = len(_events(lab, "refresh"))
        if refreshes != 1:
            raise Incorrect(f"one call of your function made {refreshes} refreshes at the server; "
                            "make exactly one")
        me = _me(lab, access)
        if me.status_code != 200:
            raise Incorrect(f"the access token you returned does not work: /api/me answered "
                            f"{me.status_code} {me.json()}")
        rows = _rows(lab, "refresh_tokens", "token_hash")
        issued = rows.get(_digest(second))
        if issued is None or issued["used_at"] is not None:
            raise Incorrect("the refresh token you returned is not a fresh one the server issued")
        if rows[_digest(first)]["used_at"] is None:
            raise Incorrect("the server did not use up the refresh token you were given")
        _access, third = self._call(refresh, lab, second)  # and once more, with the new one
        if _events(lab, "reuse_detected", "refresh_denied"):
            raise Incorrect("a second refresh, with the token your function returned, was refused")
        if third == second:
            raise Incorrect("the second refresh returned the same refresh token again")
        return ("the server marked the refresh token you sent as used and issued a new one, and your function "
                "chained: the new one refreshed again. The old ones are spent: presenting one again would be "
                "reuse.")


# --- q2 -------------------------------------------------------------------------------------------

class StolenLogins(Exercise):
    title = "Spot the stolen logins"
    _hints = [
        "Every event is a dict with an 'event' name; only some events have a 'family'.",
        "A replayed refresh token leaves a 'reuse_detected' event with the family's id in 'family'.",
        "return {e['family'] for e in events if e['event'] == 'reuse_detected'}",
    ]

    @staticmethod
    def _scenario() -> tuple[list[dict], list[dict], dict[str, str]]:
        """A fresh audit log with a logout, two replayed refresh tokens and a live login.

        Returns all its events, the events before the first reuse, and why each family ended ("live" if not).
        """
        lab = fresh_lab()
        admin = log_in(lab, "admin")
        _revoke(lab, admin["refresh_token"])  # admin logs out: revoked, but not for reuse
        for username in ("alice", "bob"):
            stolen = log_in(lab, username)["refresh_token"]
            _refresh(lab, stolen)  # the thief refreshes first...
            _refresh(lab, stolen)  # ...and the user's app presents the same token: reuse
        _refresh(lab, log_in(lab, "alice")["refresh_token"])  # alice logs in again, all is well
        events = lab.audit()
        first_reuse = next(e["id"] for e in events if e["event"] == "reuse_detected")
        families = {row["id"]: row["revoked_reason"] or "live" for row in lab.table("refresh_families")}
        return events, [e for e in events if e["id"] < first_reuse], families

    @staticmethod
    def _answer(function, events) -> set:
        try:
            result = function([dict(e) for e in events])
        except KeyError as error:
            raise Incorrect(f"your function raised KeyError {error}: not every event has that key (a 'reset' or "
                            "'clock_changed' event has no 'family'); look at e['event'] first, "
                            "or use e.get()") from None
        if isinstance(result, (str, dict)) or result is None:
            raise Incorrect(f"return a set of family ids (empty if there was no reuse), not {result!r}")
        try:
            return set(result)
        except TypeError:
            raise Incorrect(f"return a set of family ids, not {result!r}") from None

    def _check(self, function):
        if not callable(function):
            raise Incorrect("pass your function itself: q2.check(revoked_for_reuse)")
        events, before, families = self._scenario()
        expected = {family for family, why in families.items() if why == "refresh token reused"}
        got = self._answer(function, events)
        extra = sorted(got - expected, key=str)
        for item in extra:
            if item not in families:
                raise Incorrect(f"{item!r} is not a family id: the id is the 'family' field of an event")
        for item in extra:
            if families[item] != "live":
                raise Incorrect(f"{item!r} was revoked, but for '{families[item]}', "
                                "not because a used token came back")
        if extra:
            raise Incorrect(f"{extra[0]!r} is a login that is still live: nothing was reused there")
        if expected - got:
            raise Incorrect(f"you found {len(got)} of the {len(expected)} stolen logins in a fresh audit log; "
                            "look at every event, not just the first match")
        quiet = self._answer(function, before)
        if quiet:
            raise Incorrect(f"on an audit log with no reuse (just a logout) your function returned {quiet}: "
                            "it should return an empty set")
        return (f"in a fresh audit log of {len(events)} events you found both replayed logins and left the "
                "logout and the live login alone.")


# --- q3 -------------------------------------------------------------------------------------------

class LogOut(Exercise):
    title = "Log out properly"
    _hints = [
        "Ending the login is the server's half: POST url + '/oauth/revoke' with the form field token set to "
        "tokens['refresh_token'].",
        "Forgetting the tokens is the app's half: tokens.clear() empties the app's dict in place "
        "(tokens = {} would only rebind your function's own name).",
        "No need to revoke the access token: a server with a denylist ends it with the login, and one without "
        "answers 400 unsupported_token_type, because all it can do is wait for exp.",
    ]

    def _run(self, log_out, lab: LabServer) -> tuple[dict, list[str]]:
        """Log alice in, call log_out on the token response; return what the app had, and what it still holds."""
        tokens = log_in(lab, "alice")
        had = dict(tokens)
        lab.clear_stats()
        kind = "with a denylist" if lab.settings.denylist else "without a denylist"
        try:
            log_out(lab.url, tokens)
        except Exception as error:  # noqa: BLE001 - explained below when it is the lab's answer or a key
            said = _server_said(error)
            if said is not None and "unsupported_token_type" in said:
                raise Incorrect(f"on a server {kind} your function raised: {said}. That is the normal answer of "
                                "a server that cannot revoke access tokens (RFC 7009 §2.2.1), not a failure: "
                                "revoking the refresh token is what ends the login") from None
            if said is not None:
                raise Incorrect(f"on a server {kind} your function raised: {said}") from None
            if isinstance(error, KeyError) and error.args and error.args[0] in had:
                raise Incorrect(f"your function raised KeyError {error}: read tokens['refresh_token'] before "
                                "you clear the dict") from None
            if isinstance(error, KeyError):
                raise Incorrect(f"your function raised KeyError {error}: the token response has no such key; its "
                                f"keys are {', '.join(map(repr, had))}") from None
            raise
        family = next(iter(_rows(lab, "refresh_families", "id").values()))
        if family["revoked_at"] is None:
            extra = (" POST /session/logout ends a cookie session; token logins end at /oauth/revoke."
                     if "POST /session/logout" in _endpoints(lab) else "")
            raise Incorrect(f"on a server {kind} the login is still live after log_out (its refresh token still "
                            "works): send tokens['refresh_token'] to /oauth/revoke as the form field "
                            f"token.{extra}")
        if family["revoked_reason"] != "revoked by the client":
            raise Incorrect(f"the login ended, but for '{family['revoked_reason']}': log out with a revocation "
                            "request to /oauth/revoke")
        left = [name for name in ("access_token", "refresh_token") if name in tokens]
        return had, left

    def _check(self, log_out):
        if not callable(log_out):
            raise Incorrect("pass your function itself: q3.check(log_out)")
        plain = fresh_lab()
        had, left = self._run(log_out, plain)
        me = _me(plain, had["access_token"])
        until = lab_time(claims(had["access_token"])["exp"])
        if left:
            raise Incorrect(f"the login is over, but the app still holds {' and '.join(left)}. That matters: on "
                            f"a server without a denylist the access token still works after log_out (/api/me "
                            f"answered {me.status_code}) until its exp, {until}. Forget both with "
                            "tokens.clear() (tokens = {} only rebinds your function's own name)")
        deny = fresh_lab(denylist=True)
        had, _left = self._run(log_out, deny)
        revoked = _me(deny, had["access_token"])
        return (f"your function ended the login and the app forgot its tokens. Right after it, on the server with "
                f"a denylist the access token got {revoked.status_code} "
                f"({revoked.json().get('error_description', 'accepted')}): it ended with the login. On the one "
                f"without, it got {me.status_code} and would keep working until {until}: forgetting it is all "
                "the app can do.")


# --- q4 -------------------------------------------------------------------------------------------

_GIVE_UP_AFTER = 5.0  # seconds: longer means the class keeps retrying after a refused refresh (it is stopped)
_TOKEN_BUDGET = 10   # token requests the last step allows; the lab refuses more


class RefreshingAuth(Exercise):
    title = "A client that refreshes by itself"
    _hints = [
        "The header is f'Bearer {self.access_token}'. Refresh only if response.status_code == 401 and "
        "'error=\"invalid_token\"' is in the challenge; otherwise return the response as it is.",
        "The refresh form is the one from Exercise 1: {'grant_type': 'refresh_token', 'refresh_token': "
        "self.refresh_token}.",
        "Rotation: the answer's refresh_token replaces yours: self.refresh_token = tokens['refresh_token'].",
    ]

    def _check(self, auth_class):
        if not inspect.isclass(auth_class) or not issubclass(auth_class, requests.auth.AuthBase):
            raise Incorrect("pass your class itself, a subclass of requests.auth.AuthBase: "
                            "q4.check(RefreshingAuth)")
        lab = fresh_lab()
        tokens = log_in(lab, "alice")
        auth = auth_class(lab.url + "/oauth/token", tokens["access_token"], tokens["refresh_token"])
        http = http_session()

        def get(path: str) -> requests.Response:
            return http.get(lab.url + path, auth=auth, timeout=10)

        def count(name: str) -> int:
            return len(_events(lab, name))

        r = get("/api/me")
        if r.status_code != 200:
            raise Incorrect(f"with a valid access token the request got {r.status_code} {r.json()}: your class "
                            "should send Authorization: Bearer <access token>")
        if count("refresh"):
            raise Incorrect("your class refreshed although the access token was still valid")
        r = get("/api/admin")
        if count("refresh"):
            raise Incorrect(f"your class refreshed after a {r.status_code}: only a 401 with "
                            "error=\"invalid_token\" means a new token could help; a 403 insufficient_scope "
                            "means this user lacks the role")

        lab.clock.advance(minutes=31)
        r = get("/api/me")
        refreshes = count("refresh")
        if refreshes == 0:
            raise Incorrect(f"after 31 minutes the access token had expired, and your class did not refresh: the "
                            f"request got {r.status_code} {r.json()}. Refresh on a 401 whose WWW-Authenticate "
                            "says error=\"invalid_token\", then send the request again")
        if refreshes > 1:
            raise Incorrect(f"your class refreshed {refreshes} times for one request: refresh once, then retry")
        if r.status_code != 200:
            raise Incorrect(f"your class refreshed, but the request came back {r.status_code} {r.json()}: "
                            "retry it "
                            "with the NEW access token and return the retry's response")
        get("/api/me")
        if count("refresh") != 1:
            raise Incorrect("your class refreshed again while the new access token was still valid: keep the new "
                            "access token for the next requests")

        lab.clock.advance(minutes=31)
        r = get("/api/me")
        if count("reuse_detected"):
            raise Incorrect("the second refresh presented a refresh token that was already used, so the server "
                            "revoked the whole login: keep the NEW refresh token from each refresh (rotation)")
        if r.status_code != 200 or count("refresh") != 2:
            raise Incorrect(f"half an hour later the next refresh did not work: {r.status_code} {r.json()}")

        # The server ends alice's logins (an admin disables her account and enables it again): whatever the
        # class calls its refresh token, the next refresh is refused.
        end_logins(lab, "alice")
        lab.clock.advance(minutes=31)
        referee(lab, budget=_TOKEN_BUDGET)  # past it the lab refuses token requests: a loop shows there
        looping = ("when the refresh was refused, your class kept trying, more than "
                   f"{_TOKEN_BUDGET} token requests: try one refresh; if it fails, return the 401 so the app can "
                   "ask the user to log in")
        outcome: dict = {}
        try:
            outcome["response"] = run_limited(_GIVE_UP_AFTER, lambda: get("/api/me"), "the request after a refused "
                                              "refresh", stop_when=lambda: looping if budget_spent(lab) else None)
        except Incorrect:
            raise
        except Exception as error:  # reported below
            if budget_spent(lab):
                raise Incorrect(looping) from None
            outcome["error"] = error
        denied = count("refresh_denied")
        if "error" in outcome:
            error = outcome["error"]
            raise Incorrect(f"when the refresh was refused your class raised {type(error).__name__}: {error}. "
                            "Return the 401 response instead, so the app can ask the user to log in")
        if denied > 1:
            raise Incorrect(f"when the refresh was refused your class tried {denied} times: once is enough")
        if outcome["response"].status_code != 401:
            raise Incorrect(f"after a refused refresh the request came back {outcome['response'].status_code}; "
                            "it should be the original 401")
        return ("your class sent the token, refreshed once when it expired (keeping the rotated refresh token), "
                "retried, and gave up cleanly when the refresh was refused. That is the whole 'complex code'.")


q1, q2, q3, q4 = Refresh("q1"), StolenLogins("q2"), LogOut("q3"), RefreshingAuth("q4")
