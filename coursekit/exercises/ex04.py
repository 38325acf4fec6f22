"""Exercises of notebook 04, expiry trade-offs: leeway at the boundary, a stale role, choosing a lifetime.

Checks that need a server run on a lab of their own (``coursekit.labtools.lab.fresh_lab``), never on the notebook's
labs, so a check leaves the notebook's servers exactly as they were.
"""

from __future__ import annotations

import math
import re

from coursekit.labtools.client import bearer, claims, http_session, lab_time, log_in
from coursekit.kit.exercise import Exercise, Incorrect
from coursekit.pictures.expiry_model import expected_window, lifetime_range, logins_per_day, worst_case_window
from coursekit.labtools.lab import fresh_lab

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


_ROUTE_CLAIM = "roles"


def _lab_minute(value, day_of: float) -> float:
    """A lab time of day written "HH:MM" (or "HH:MM:SS") as a Unix time on the day of ``day_of``."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", value.strip()):
        raise Incorrect(f'refused_from should be a lab time of day written "HH:MM", like "09:45", not {value!r}')
    hours, minutes, seconds = (list(map(int, value.strip().split(":"))) + [0])[:3]
    if hours > 23 or minutes > 59 or seconds > 59:
        raise Incorrect(f"{value!r} is not a time of day")
    midnight = day_of - day_of % 86400
    return midnight + hours * 3600 + minutes * 60 + seconds


class StaleRole(Exercise):
    title = "A demoted admin's old token: predict, then watch"
    _hints = [
        "Ask what the admin route reads to decide: the store, where bob is now a user, or the token bob holds?",
        "The route reads nothing from the store: it trusts the signed token, and bob's old token says "
        "roles ['admin']. Nothing makes a token invalid before its exp.",
        "200, 'roles', and the old token's exp: it was issued at 09:30 and lives 30 minutes, so \"10:00\".",
    ]

    def _check(self, bob_admin, predicted_status, deciding_claim, refused_from):
        token = bob_admin.get("access_token") if isinstance(bob_admin, dict) else bob_admin
        try:
            old = claims(token)
        except (AttributeError, ValueError, IndexError):
            raise Incorrect("pass bob's token response first: q2.check(bob_admin, ...)") from None
        if old.get("username") != "bob" or old.get("roles") != ["admin"]:
            raise Incorrect(f"the first argument is {old.get('username')}'s token with roles {old.get('roles')}: "
                            "pass bob_admin, the login bob made while he was an admin")
        if isinstance(predicted_status, bool) or not isinstance(predicted_status, (int, float)):
            raise Incorrect(f"predicted_status should be an HTTP status code such as 200 or 403, "
                            f"not {predicted_status!r}")
        if not (math.isfinite(predicted_status) and predicted_status == int(predicted_status)):
            raise Incorrect(f"predicted_status should be an HTTP status code, a whole number (int) such as 200 "
                            f"or 403, not {predicted_status!r}")
        predicted_status = int(predicted_status)
        if not isinstance(deciding_claim, str):
            raise Incorrect(f'deciding_claim should be the name of a claim, such as "aud", not {deciding_claim!r}')
        refused_at = _lab_minute(refused_from, old["iat"])

        # Replay section 3 on a lab of our own, from the lab time bob's old token was issued.
        lab = fresh_lab()
        http = http_session()
        lab.clock.set(old["iat"])
        admin = bearer(log_in(lab, "admin")["access_token"])
        http.patch(lab.url + "/admin/users/bob", json={"role": "admin"}, headers=admin, timeout=10)
        bob_old = log_in(lab, "bob")["access_token"]
        http.patch(lab.url + "/admin/users/bob", json={"role": "user"}, headers=admin, timeout=10)
        lab.clear_stats()
        r = http.get(lab.url + "/api/admin", headers=bearer(bob_old), timeout=10)
        reads = lab.stats().get("GET /api/admin", {}).get("reads", 0)
        bob_new = claims(log_in(lab, "bob")["access_token"])
        exp = claims(bob_old)["exp"]

        def answer_at(moment: float) -> tuple[int, str]:
            lab.clock.set(moment)
            got = http.get(lab.url + "/api/admin", headers=bearer(bob_old), timeout=10)
            return got.status_code, got.json().get("error_description", "")

        wrong = []
        if predicted_status != r.status_code:
            why = {403: (f"the store says bob is a user, but the route read the store {reads} times for that "
                         "request: it never asked, and believed the token"),
                   401: "the token is still valid: its signature and its exp are fine, and a role change "
                        "does not make a token invalid"}.get(predicted_status, "")
            wrong.append(f"you predicted {predicted_status}; the lab answered {r.status_code} {r.json()} to bob's "
                         f"old token after the demotion{': ' + why if why else ''}")
        claim = deciding_claim.strip().strip("'\"")
        if claim != _ROUTE_CLAIM:
            if claim == "role":
                why = "close: the claim is a list of roles, and its name is plural"
            elif claim in ("sub", "username"):
                why = (f"the route read the store {reads} times, so it did not look bob's role up by {claim}: "
                       "it decided from a claim that holds the role itself")
            elif claim in old:
                why = (f"{claim} is {old[claim]!r} in the old token; it does not say what bob may do. Compare "
                       f"the claims of his old and new tokens: which one differs besides exp, iat and jti?")
            else:
                why = f"bob's token has no {claim} claim; it has {', '.join(sorted(old))}"
            wrong.append(f"deciding_claim {deciding_claim!r}: {why}")
        if refused_at <= old["iat"]:
            wrong.append(f"{refused_from} is not later than {lab_time(old['iat'])[:5]}, when bob got the token and "
                         f"was demoted, and the lab let the old token in after the demotion ({r.status_code}): "
                         "when does a token stop working?")
        else:
            status, why = answer_at(refused_at)
            if status == 200:
                wrong.append(f"at {refused_from} the lab still let bob's old token in (200): it stops later")
            else:
                before, why_before = answer_at(refused_at - 60)
                if before != 200:
                    wrong.append(f"at {lab_time(refused_at - 60)[:5]}, a minute before {refused_from}, the lab "
                                 f"already refused the old token ({before}, {why_before}): it stops earlier")
                else:
                    before, why_before = answer_at(refused_at - 1)
                    if before != 200:
                        wrong.append(f"at {lab_time(refused_at - 1)}, one second before {refused_from}, the lab "
                                     f"already refused the old token ({before}, {why_before}): it stops earlier, "
                                     "on the exact second of its exp; give that minute and second")
        if wrong:
            raise Incorrect("; ".join(wrong))
        return (f"on a lab of its own the check demoted bob, and his old token still opened the admin route "
                f"({r.status_code}) with {reads} store reads: the route trusts the token's roles claim, "
                f"{old['roles']} (a login now says {bob_new['roles']}). The lab refused the old token "
                f"from {lab_time(exp)[:5]} ({status}, {why}), its exp, and not a second earlier.")


_WINDOW_LIMIT, _LOGIN_LIMIT, _ACTIVE_HOURS = 4 * 60, 4, 8


def _over(value: float, limit: float) -> str:
    """``value``, known to be over ``limit``, with as few digits as show that it is (4.0033, not 4)."""
    for digits in range(3, 17):
        text = f"{value:.{digits}g}"
        if "e" not in text and float(text) > limit:
            return text
    return repr(value)


class ChooseLifetime(Exercise):
    title = "Choose a lifetime"
    _hints = [
        "The model works in minutes: 4 hours is 240 minutes. 'Whenever it was stolen' means the worst case, "
        "where the window is the whole lifetime L.",
        "Window: L <= 240. Logins: an 8-hour user logs in 480 / L times a day, so 480 / L <= 4, that is L >= 120.",
        "Any lifetime from 120 to 240 minutes works; lifetime_range(240, 4) says the same.",
    ]

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
            raise Incorrect(f"with L = {_over(lifetime_minutes, max_window_minutes)} min a token stolen as it is "
                            f"issued works for {_over(window, max_window_minutes)} min: over the "
                            f"{max_window_minutes:g}-minute limit. Pick a shorter L")
        if logins > max_logins_per_day:
            raise Incorrect(f"with L = {lifetime_minutes:g} min someone active 8 h a day "
                            f"logs in {_over(logins, max_logins_per_day)} times "
                            f"a day: over the limit of {max_logins_per_day:g}. Pick a longer L")
        lo, hi = lifetime_range(max_window_minutes, max_logins_per_day, _ACTIVE_HOURS)
        average = expected_window(lifetime_minutes)
        return (f"L = {lifetime_minutes:g} min: a thief gets at most {window:g} min ({average:g} on average) "
                f"and staff log in {logins:.3g} times a day. Every L from {lo:g} to {hi:g} min meets both limits.")


q1, q2, q3 = LeewayBoundary("q1"), StaleRole("q2"), ChooseLifetime("q3")
