"""Exercises of notebook 02, the JWT flow: log in for a token, predict its expiry, predict it on another replica.

The login and the expiry checks run the learner's function against a lab server of their own (``fresh_lab``)
and let that server judge the result; the replica check reads what the notebook's two servers saw.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from coursekit.labtools.client import bearer, http_session, log_in
from coursekit.kit.diagnosis import forget_lab_errors, last_lab_error, raised
from coursekit.kit.exercise import Exercise, Incorrect, require_function
from coursekit.kit.plain import whole_number
from coursekit.labtools.lab import fresh_lab
from coursekit.pictures.tokenview import decode_segment
from labserver import LabServer

__all__ = ["q1", "q2", "q3"]


def _me(server: LabServer, token: str) -> requests.Response:
    return http_session().get(server.url + "/api/me", timeout=10, headers=bearer(token))


def _claims(token: str) -> dict | None:
    """The payload of something that looks like a JWT, or None."""
    try:
        claims = json.loads(decode_segment(token.split(".")[1]))
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


# --- q1: a login function ---------------------------------------------------------------------------

# What to do about each error the token endpoint answers a password grant with (its description says more).
_LOGIN_ADVICE = {
    "unsupported_grant_type": "For a login, grant_type is the string 'password'",
    "invalid_request": "Send a form, data={'grant_type': 'password', 'username': ..., 'password': ...}",
    "invalid_grant": "Send the username and password login() is given, not fixed ones",
    "invalid_client": "Leave client_id out, or send the one the server names",
    "invalid_scope": "Leave scope out",
}

class Login(Exercise):
    title = "A login function"
    _hints = [
        "POST to url + '/oauth/token' with a form: data={'grant_type': 'password', 'username': ..., "
        "'password': ...}.",
        "The answer is JSON: r.json()['access_token'] is the token. Use the function's arguments, not 'alice' "
        "or lab.url.",
    ]

    def _check(self, login: Any) -> str:
        fn = require_function(login, "login")
        server = fresh_lab()
        for username in ("bob", "admin"):
            forget_lab_errors()
            try:
                token = fn(server.url, username, f"{username}-password")
            except Exception as error:
                raise raised("login", error, advice=_LOGIN_ADVICE) from None
            self._judge(server, username, token)
        return ("your function logged bob and admin in on a lab server of its own, and that server accepted "
                "both tokens at /api/me.")

    @staticmethod
    def _judge(server: LabServer, username: str, token: Any) -> None:
        if isinstance(token, dict):
            raise Incorrect("login() returns the whole token response; return only its 'access_token'")
        if isinstance(token, requests.Response):
            raise Incorrect("login() returns the response; return r.json()['access_token']")
        if not isinstance(token, str):
            refused = last_lab_error()  # what the server said, if it refused the request
            raise Incorrect(f"login() returns {type(token).__name__}; return the access token, a str"
                            + (f". The lab server answered {refused}" if refused else ""))
        claims = _claims(token)
        if claims is None:
            raise Incorrect("login() returns a str that is not a JWT (no header.payload.signature): "
                            "is it the refresh_token? Return r.json()['access_token']")
        if claims.get("iss") != server.settings.issuer_id:
            raise Incorrect("login() returns a token from another server: send the request to the url it is "
                            "given, not to lab.url")
        if claims.get("username") != username:
            raise Incorrect(f"asked for {username}'s token, login() returns {claims.get('username')}'s: "
                            "send the username and password it is given")
        r = _me(server, token)
        if r.status_code != 200:
            raise Incorrect(f"the server refused the token login() returned: {r.status_code} {r.json()}")


# --- q2: predict the moment of expiry ------------------------------------------------------------------

def _clock_time(value: Any) -> int | None:
    """Seconds after midnight of an "HH:MM" or "HH:MM:SS" string, or None."""
    if not isinstance(value, str):
        return None
    parts = value.strip().split(":")
    if len(parts) not in (2, 3) or not all(part.isdigit() for part in parts):
        return None
    hours, minutes, seconds = (int(part) for part in [*parts, "0"][:3])
    return hours * 3600 + minutes * 60 + seconds if hours < 24 and minutes < 60 and seconds < 60 else None


class PredictExpiry(Exercise):
    title = "Predict: when is the token refused?"
    _hints = [
        "The token response said expires_in 1800, received at 09:00:00; the token view showed exp 09:30:00.",
        "RFC 7519 §4.1.4: the token must not be accepted ON or after exp. And RFC 6750 §3.1 names the status "
        "for an expired token: the request is not authenticated.",
    ]

    def _check(self, prediction: Any) -> str:
        if not isinstance(prediction, dict) or set(prediction) != {"refused_from", "status"}:
            raise Incorrect('fill in the dict as given: {"refused_from": "HH:MM:SS", "status": ...}')
        moment, status = _clock_time(prediction["refused_from"]), prediction["status"]
        if moment is None:
            raise Incorrect(f"refused_from should be a lab time as text, such as \"09:45:00\", not "
                            f"{prediction['refused_from']!r}")
        status = whole_number("status", status)
        server = fresh_lab()  # the experiment, on a lab of the check's own: alice logs in at 09:00
        token = log_in(server, "alice")["access_token"]
        midnight = server.clock.now() - 9 * 3600
        answers = {}
        for second in (moment - 1, moment):
            server.clock.set(midnight + second)
            r = _me(server, token)
            answers[second] = (r.status_code, r.json().get("error_description", ""))
        before, at = answers[moment - 1], answers[moment]
        said = f"{at[0]} {at[1]}".strip()
        if before[0] != 200:
            raise Incorrect(f"one second before {prediction['refused_from']} the lab already answered {before[0]} "
                            f"{before[1]}: the token is refused earlier than you predicted")
        if at[0] == 200:
            raise Incorrect(f"at {prediction['refused_from']} the lab still accepted the token: it is refused "
                            "later than you predicted")
        if status != at[0]:
            raise Incorrect(f"the moment is right, but the lab answered {said}, not {status}: an expired "
                            "token means 'not authenticated'")
        return (f"the check asked a lab of its own: 200 one second before {prediction['refused_from']}, {said} "
                "at it. The next cells show it on your lab.")


# --- q3: the token on replica B ----------------------------------------------------------------------

class PredictReplica(Exercise):
    title = "Predict: alice's token on replica B"
    _hints = [
        "B has the same signing key as A, and now the same time on its clock.",
        "To check a JWT, a server needs its key and its clock, nothing from a store (step 3 counted the reads).",
    ]

    def _check(self, lab: Any = None, b: Any = None, token: Any = None, prediction: Any = None) -> str:
        if not (isinstance(lab, LabServer) and isinstance(b, LabServer) and isinstance(token, str)):
            raise Incorrect("pass both servers, the token, then your prediction: q3.check(lab, b, token, prediction)")
        if not isinstance(prediction, dict) or set(prediction) != {"status", "store_reads"}:
            raise Incorrect('fill in the dict as given: {"status": ..., "store_reads": ...}')
        status, reads = prediction["status"], prediction["store_reads"]
        status, reads = whole_number("status", status), whole_number("store_reads", reads)
        before = b.stats().get("GET /api/me", {}).get("reads", 0)
        r = _me(b, token)  # the experiment itself, on the notebook's B
        seen_reads = b.stats().get("GET /api/me", {}).get("reads", 0) - before
        why = r.json().get("error_description", "")
        if why == "token was issued in the future":
            raise Incorrect("B answered 'token was issued in the future': B's clock is behind A's. Run the cell "
                            "that sets b's clock to lab's, then check again")
        wrong = []
        if status != r.status_code:
            wrong.append(f"B answered {r.status_code}, not {status}" + (
                ": B never saw alice log in, but it needs no record of her, only the key to check the signature"
                if r.status_code == 200 else f" ({why})"))
        if reads != seen_reads:
            wrong.append(f"B read its store {seen_reads} times, not {reads}"
                         + (": the token carries all B needs" if seen_reads == 0 else ""))
        if wrong:
            raise Incorrect(f"you predicted {prediction!r}, but " + "; ".join(wrong) + ". The next cell shows it.")
        return (f"the check sent alice's token to B: {r.status_code}, with {seen_reads} store reads. B checked "
                "the signature with the shared key and the claims against its own clock.")


q1, q2, q3 = Login("q1"), PredictExpiry("q2"), PredictReplica("q3")
