"""Exercises of notebook 04, expiry trade-offs: leeway at the boundary, a stale role, choosing a lifetime.

Checks that need a server run on a lab of their own (``coursekit.lab.fresh_lab``), never on the notebook's
labs, so a check leaves the notebook's servers exactly as they were.
"""

from __future__ import annotations

from coursekit.client import bearer, claims, http_session, lab_time, log_in
from coursekit.exercise import Exercise, Incorrect, require_bearer_request
from coursekit.expiry_model import expected_window, lifetime_range, logins_per_day, worst_case_window
from coursekit.lab import fresh_lab
from labserver import LabServer

__all__ = ["q1", "q2", "q3"]


def _whole_seconds(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Incorrect(f"{name} should be a number of seconds, like 10, not {value!r}")
    if not -3600 <= value <= 3600:
        raise Incorrect(f"{name} is {value!r} seconds from exp: the boundary is within a minute or two of exp")
    if value != int(value):
        raise Incorrect(f"{name} should be a whole number of seconds: the lab clock and exp count whole seconds")
    return int(value)


class LeewayBoundary(Exercise):
    title = "Just valid, just expired"
    _hints = [
        "The server accepts a token while now < exp + leeway. Here leeway = 60 seconds.",
        "Write the condition for now = exp + s: is exp + s < exp + 60? For which whole s does it stop holding?",
        "59 s after exp: 59 < 60, accepted. 60 s after exp: 60 < 60 is false, rejected.",
    ]
    _solution = """
        last_accepted = 59    # exp + 59 s < exp + 60 s: still 200
        first_rejected = 60   # exp + 60 s is not < exp + 60 s: 401 token has expired
    """

    def _check(self, last_accepted, first_rejected):
        last_accepted = _whole_seconds("last_accepted", last_accepted)
        first_rejected = _whole_seconds("first_rejected", first_rejected)
        lab = fresh_lab(leeway=60)
        http = http_session()
        token = log_in(lab, "alice")["access_token"]
        exp = claims(token)["exp"]

        def answer(offset: int) -> tuple[int, str]:
            lab.clock.set(exp + offset)
            r = http.get(lab.url + "/api/me", headers=bearer(token), timeout=10)
            return r.status_code, r.json().get("error_description", "")

        status, why = answer(last_accepted)
        if status != 200:
            raise Incorrect(
                f"at exp + {last_accepted} s the server already rejects the token ({status}, {why}): "
                "a server with 60 s of leeway accepts a token while now < exp + 60 s")
        status, _why = answer(first_rejected)
        if status == 200:
            raise Incorrect(f"at exp + {first_rejected} s the server still accepts the token (200): "
                            "leeway keeps a token valid for a while after its exp")
        if first_rejected != last_accepted + 1:
            raise Incorrect(
                f"both are on the right side (200 at exp + {last_accepted} s, 401 at exp + {first_rejected} s), "
                "but they are not neighbours: find the whole second where the answer flips")
        return (f"a fresh server with leeway=60 accepted the token {last_accepted} s after exp and rejected it "
                f"{first_rejected} s after exp. Leeway lengthens every token's life, a thief's copy too: "
                "keep it small.")


class StaleRole(Exercise):
    title = "A demoted admin's old token"
    _hints = [
        "The admin route is lab.url + '/api/admin'; the token goes in headers=bearer(...).",
        "Use the token bob got while he was an admin: bob_admin['access_token'], not a new login.",
    ]
    _solution = """
        r = requests.get(lab.url + "/api/admin", headers=bearer(bob_admin["access_token"]))
    """

    def _check(self, lab, response):
        if not isinstance(lab, LabServer):
            raise Incorrect("pass the lab server first: q2.check(lab, r)")
        token = require_bearer_request(response, lab, "/api/admin", server_name="lab", route="the admin route",
                                       send_token="pass headers=bearer(<the token>)")
        try:
            sent = claims(token)
        except (ValueError, IndexError):
            raise Incorrect("what follows 'Bearer ' is not a JWT: send bob's access token") from None
        roles = {user["username"]: user["role"] for user in lab.table("users")}
        if roles.get("bob") != "user":
            raise Incorrect("bob is still an admin on the lab: run the cell that demotes him, "
                            "then try his old token")
        if sent.get("username") != "bob":
            raise Incorrect(f"that is {sent.get('username')}'s token: "
                            "send the one bob got while he was an admin")
        if sent.get("roles") != ["admin"]:
            raise Incorrect(f"that token says roles {sent.get('roles')}: it is from a login after the demotion. "
                            "Send the one bob got while he was an admin, bob_admin['access_token']")
        if response.status_code != 200:
            raise Incorrect(f"the server answered {response.status_code} {response.json()}: if the token has "
                            "expired, run this section again from the cell that promotes bob")
        return (f"the store says bob is a plain user, yet his old token opened the admin route: the server reads "
                f"the role from the token's roles claim, and keeps believing it until exp, "
                f"{lab_time(sent['exp'])}.")


_WINDOW_LIMIT, _LOGIN_LIMIT, _ACTIVE_HOURS = 4 * 60, 4, 8


class ChooseLifetime(Exercise):
    title = "Choose a lifetime"
    _hints = [
        "The model works in minutes: 4 hours is 240 minutes. 'Whenever it was stolen' means the worst case, "
        "where the window is the whole lifetime L.",
        "Window: L <= 240. Logins: an 8-hour user logs in 480 / L times a day, so 480 / L <= 4, that is L >= 120.",
        "Any lifetime from 120 to 240 minutes works; lifetime_range(240, 4) says the same.",
    ]
    _solution = """
        max_window_minutes = 4 * 60   # a stolen token useless after 4 h, whenever stolen: worst case
        max_logins_per_day = 4
        lifetime_minutes = 180        # 3 h: anything from 120 to 240 minutes works
    """

    def _check(self, max_window_minutes, max_logins_per_day, lifetime_minutes):
        for name, value in [("max_window_minutes", max_window_minutes), ("max_logins_per_day", max_logins_per_day),
                            ("lifetime_minutes", lifetime_minutes)]:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise Incorrect(f"{name} should be a positive number, not {value!r}")
        if max_window_minutes != _WINDOW_LIMIT:
            hint = (" 4 is the limit in hours; the model counts minutes." if max_window_minutes == 4 else
                    " The limit holds whenever the token is stolen: the worst case, not the average."
                    if max_window_minutes == _WINDOW_LIMIT / 2 else "")
            raise Incorrect(f"max_window_minutes is {max_window_minutes:g}, but security asks for at most "
                            f"4 hours.{hint}")
        if max_logins_per_day != _LOGIN_LIMIT:
            raise Incorrect(f"max_logins_per_day is {max_logins_per_day:g}, "
                            "but staff accept at most 4 logins a day")
        window = worst_case_window(lifetime_minutes)
        logins = logins_per_day(lifetime_minutes, _ACTIVE_HOURS)
        if window > max_window_minutes:
            raise Incorrect(f"with L = {lifetime_minutes:g} min a token stolen as it is issued works for "
                            f"{window:g} min: over the {max_window_minutes:g}-minute limit. Pick a shorter L")
        if logins > max_logins_per_day:
            raise Incorrect(f"with L = {lifetime_minutes:g} min someone active 8 h a day "
                            f"logs in {logins:.3g} times "
                            f"a day: over the limit of {max_logins_per_day:g}. Pick a longer L")
        lo, hi = lifetime_range(max_window_minutes, max_logins_per_day, _ACTIVE_HOURS)
        average = expected_window(lifetime_minutes)
        return (f"L = {lifetime_minutes:g} min: a thief gets at most {window:g} min ({average:g} on average) "
                f"and staff log in {logins:.3g} times a day. Every L from {lo:g} to {hi:g} min meets both limits.")


q1, q2, q3 = LeewayBoundary("q1"), StaleRole("q2"), ChooseLifetime("q3")
