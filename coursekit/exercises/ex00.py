"""The warm-up exercise of notebook 00: read a status code, to see how exercises are checked.

The check does not compare with a stored number: it asks the lab server the same question again.
"""

from __future__ import annotations


import requests

from coursekit.kit.exercise import Exercise, Incorrect
from labserver import LabServer

__all__ = ["q1"]

# What a learner may answer instead of 401, and what that status code would have meant.
_OTHER_MEANINGS = {
    200: "200 OK would mean the server answered with your data; look at the first number the cell printed",
    400: "400 Bad Request means the request itself is malformed; here it was fine, just without credentials",
    403: "403 Forbidden means 'I know who you are, and you may not': here the server does not know who you are",
    404: "404 Not Found would mean there is no such route; /api/me exists",
}


class StatusOfMe(Exercise):
    title = "What did /api/me answer?"
    _hints = [
        "Look at the output of the cell that called /api/me without a token: the first number.",
        "It is the status code of 'you did not say who you are': 401 Unauthorized.",
    ]

    def _check(self, lab=None, status=None) -> str:
        if not isinstance(lab, LabServer):
            raise Incorrect("pass the lab server first: q1.check(lab, status)")
        if isinstance(status, str) and status.strip().isdigit():
            raise Incorrect(f"you answered the text {status!r}: write the number itself, without quotes")
        if isinstance(status, requests.Response):
            raise Incorrect("you passed the whole response: pass its status code, r.status_code, or the number")
        if isinstance(status, bool) or not isinstance(status, int):
            raise Incorrect(f"a status code is a whole number such as 200 or 404, not {status!r}")
        try:  # the same experiment again, on the same server
            r = lab.http.get(lab.url + "/api/me", timeout=10)
        except requests.ConnectionError:
            raise Incorrect("the lab server is not running: run the cell with start_lab() again") from None
        if status != r.status_code:
            meaning = _OTHER_MEANINGS.get(status, f"{status} is not what the server answers")
            raise Incorrect(f"{meaning}. (This check asked the server again: it did not answer {status}.)")
        return (f"the server answered {r.status_code} again when this check asked it: "
                f"{r.json()['error']}, with the challenge WWW-Authenticate: {r.headers['www-authenticate']}")


q1 = StatusOfMe("q1")
