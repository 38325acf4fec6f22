"""Exercises of notebook 02, the JWT flow: log in for a token, time its expiry, use it on another replica.

The login and the expiry checks run the learner's function against a lab server of their own (``fresh_lab``)
and let that server judge the result; the replica check reads what the notebook's two servers saw.
"""

from __future__ import annotations

import json
import random
import secrets
import textwrap
from typing import Any

import requests

from coursekit.client import bearer, http_session, log_in
from coursekit.diagnosis import forget_lab_errors, raised
from coursekit.exercise import Exercise, Incorrect, require_bearer_request, require_function
from coursekit.lab import fresh_lab
from coursekit.tokenview import decode_segment
from labserver import LabServer

__all__ = ["q1", "q2", "q3"]


def _me(server: LabServer, token: str) -> requests.Response:
    return http_session().get(server.url + "/api/me", timeout=10, headers=bearer(token))


def _went_to(server: LabServer, response: requests.Response) -> bool:
    return response.url.startswith(server.url + "/")


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
    _solution = '''
def login(url: str, username: str, password: str) -> str:
    r = requests.post(url + "/oauth/token",
                      data={"grant_type": "password", "username": username, "password": password})
    return r.json()["access_token"]
'''

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
            raise Incorrect(f"login() returns {type(token).__name__}; return the access token, a str")
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


# --- q2: seconds left --------------------------------------------------------------------------------

def _opaque_response(rng: random.Random) -> tuple[dict, float, float]:
    """A token response with an opaque access token, when it was received, and a moment before it expires."""
    expires_in = rng.choice([60, 300, 900, 3600, 86400])
    received_at = float(rng.randrange(1_900_000_000, 2_000_000_000))
    response = {"access_token": secrets.token_urlsafe(32), "token_type": "Bearer",
                "expires_in": expires_in, "refresh_token": secrets.token_urlsafe(32)}
    return response, received_at, received_at + rng.randrange(0, expires_in + 1)


class SecondsLeft(Exercise):
    title = "Seconds left"
    _hints = [
        "expires_in counts from the moment the response arrived: the token expires at received_at + expires_in.",
        "Seconds left = that moment minus now: received_at + token_response['expires_in'] - now.",
    ]
    _solution = '''
def seconds_left(token_response: dict, received_at: float, now: float) -> float:
    return received_at + token_response["expires_in"] - now
'''

    def _check(self, seconds_left: Any) -> str:
        fn = require_function(seconds_left, "seconds_left")
        rng = random.Random()
        for _ in range(5):
            response, received_at, now = _opaque_response(rng)
            try:
                left = fn(response, received_at, now)
            except Exception as error:
                if isinstance(error, KeyError) and error.args[:1] == ("expires_in",):
                    raise Incorrect("seconds_left() raised KeyError: 'expires_in'; is the first argument "
                                    "the token response, r.json(), a dict?") from None
                raise Incorrect(
                    f"seconds_left() raised {type(error).__name__}: {error}, on a token response whose "
                    "access_token is not a JWT. If your function reads the token's exp claim: a client must "
                    "not rely on what is inside an access token (RFC 9068 §6), because the server may change "
                    "its format at any time. Use expires_in, counted from received_at") from None
            expected = received_at + response["expires_in"] - now
            if left != expected:
                raise Incorrect(self._explain(left, response["expires_in"], received_at, now))
        # Now a real token, checked by the server itself at the moment your answer says it expires.
        server = fresh_lab()
        response = log_in(server, "alice")
        received_at = server.clock.now()
        elapsed = 60 * rng.randrange(1, response["expires_in"] // 60)
        now = server.clock.advance(elapsed)["now"]
        left = fn(response, received_at, now)
        if left != received_at + response["expires_in"] - now:
            raise Incorrect(self._explain(left, response["expires_in"], received_at, now))
        server.clock.set(now + left - 1)
        before = _me(server, response["access_token"]).status_code
        server.clock.set(now + left)
        after = _me(server, response["access_token"])
        if before != 200 or after.json().get("error_description") != "token has expired":
            raise Incorrect(f"the server disagrees: {before} one second before your expiry, "
                            f"{after.status_code} {after.json()} at it")
        return ("right on 5 made-up responses, and on a real one, minutes after login: the server accepted the "
                "token 1 s before the moment your function gave, and answered 'token has expired' at that very "
                "second.")

    @staticmethod
    def _explain(left: Any, expires_in: int, received_at: float, now: float) -> str:
        expected = received_at + expires_in - now
        base = (f"with expires_in={expires_in}, received_at={received_at:.0f} and now={now:.0f}, "
                f"seconds_left() returns {left!r}, but {expected:g} s are left")
        if isinstance(left, bool) or not isinstance(left, (int, float)):
            return f"{base}: return a number of seconds"
        if left == -expected:
            return f"{base}: the sign is the wrong way round, subtract now from the moment it expires"
        if left == expires_in:
            return f"{base}: expires_in counts from when the response arrived, so subtract the time passed since"
        if left == received_at + expires_in:
            return f"{base}: that is the moment it expires, as Unix seconds; subtract now"
        if left == now - received_at:
            return f"{base}: that is the time passed since the response; subtract it from expires_in"
        return base


# --- q3: the token on replica B ----------------------------------------------------------------------

class TokenOnReplica(Exercise):
    title = "Alice's token on replica B"
    _hints = [
        "Send the request to b.url + '/api/me', not lab.url: headers={'Authorization': f'Bearer {token}'}.",
        "Use alice's current token, the one from her second login (token), not a new login on B.",
    ]
    _solution = textwrap.dedent("""
        r = requests.get(b.url + "/api/me", headers={"Authorization": f"Bearer {token}"})
    """)

    def _check(self, lab: Any = None, b: Any = None, response: Any = None) -> str:
        if not (isinstance(lab, LabServer) and isinstance(b, LabServer)):
            raise Incorrect("pass both servers, then the response: q3.check(lab, b, r)")
        if isinstance(response, requests.Response) and _went_to(lab, response):
            raise Incorrect("that request went to server A, which issued the token: send it to b.url")
        token = require_bearer_request(response, b, "/api/me", server_name="b",
                                       send_token="headers={'Authorization': f'Bearer {token}'}")
        if any(event["event"] == "login" for event in b.audit()):
            raise Incorrect("B's audit log shows a login on B: the point is a token that B never issued. "
                            "Send alice's token from server A, token")
        claims = _claims(token)
        if claims is None:
            raise Incorrect("what follows 'Bearer ' is not a JWT: send alice's access token, token")
        if response.status_code != 200:
            why = response.json().get("error_description", "")
            if why == "token has expired":
                raise Incorrect("B says 'token has expired': that is alice's first token. Send the one from "
                                "her login after it expired, token")
            if why == "token was issued in the future":
                raise Incorrect("B says 'token was issued in the future': B's clock is behind A's. Run the cell "
                                "that sets b's clock to lab's, then try again")
            raise Incorrect(f"B answered {response.status_code} {response.json()}")
        reads = b.stats().get("GET /api/me", {}).get("reads", 0)
        return (f"B accepted a token it never issued, for {response.json()['username']}, with {reads} store "
                "reads: it checked the signature with the shared key, and the claims against its own clock.")


q1, q2, q3 = Login("q1"), SecondsLeft("q2"), TokenOnReplica("q3")
