"""Exercises of notebook 01, sessions and cookies: read a cookie's flags, find your session row, predict a logout.

The answers are functions (a function with ``____`` left in it is "not answered yet", as the kit decides).
A check calls them on fresh inputs, or on a lab server of its own (``fresh_lab``, never the notebook's labs),
and judges what the server saw: its audit log, its store and its counters.
"""

from __future__ import annotations

import hashlib
import http.cookies
import random
import string
from typing import Any

import requests

from coursekit.labtools.client import http_session
from coursekit.kit.diagnosis import raised
from coursekit.kit.exercise import Exercise, Incorrect, require_function
from coursekit.kit.plain import whole_number
from coursekit.kit.grading.secret_cases import drawn
from coursekit.labtools.lab import fresh_lab
from labserver import LabServer

__all__ = ["q1", "q2", "q3", "require_function", "session_login"]


def session_login(server: LabServer, username: str) -> requests.Session:
    """Log a demo user in with the session form; return the client, which keeps the cookie."""
    client = http_session()
    r = client.post(server.url + "/session/login", timeout=10,
                    data={"username": username, "password": f"{username}-password"})
    r.raise_for_status()
    return client


def _raised(fn_name: str, error: Exception, where: str) -> Exception:
    return raised(fn_name, error, where)


# --- q1: read the cookie's flags ----------------------------------------------------------------------

_ID_CHARS = string.ascii_letters + string.digits + "-_"


def _random_id(rng: random.Random, size: int = 43) -> str:
    return "".join(rng.choice(_ID_CHARS) for _ in range(size))


def _stdlib_flags(set_cookie: str) -> dict:
    """The flags of a one-cookie Set-Cookie header, as the standard library's cookie parser reads them."""
    jar = http.cookies.SimpleCookie()
    jar.load(set_cookie)
    (morsel,) = jar.values()
    return {"HttpOnly": bool(morsel["httponly"]), "Secure": bool(morsel["secure"]),
            "SameSite": morsel["samesite"].lower() or None}


def _flag_cases(rng: random.Random, lab_header: str) -> list[tuple[str, str, dict, str]]:
    """(what the case is, Set-Cookie header, expected flags, what to say if it fails): the lab's, then fresh ones."""
    return [
        ("the lab's Set-Cookie header", lab_header, _stdlib_flags(lab_header), ""),
        ("the header this server sends over HTTPS",
         f"__Host-session={_random_id(rng)}; HttpOnly; Path=/; SameSite=strict; Secure",
         {"HttpOnly": True, "Secure": True, "SameSite": "strict"},
         "Every attribute counts, the last one too"),
        ("a header whose attribute names are in lower case",
         f"pref={_random_id(rng, 8)}; path=/; httponly",
         {"HttpOnly": True, "Secure": False, "SameSite": None},
         "Attribute names are case-insensitive (RFC 6265 §5.2): compare name.lower(). And with no SameSite "
         "attribute, SameSite is None"),
        ("a header whose cookie VALUE contains the words Secure and HttpOnly",
         f"theme=Secure-HttpOnly-{_random_id(rng, 6)}; Path=/; SameSite=Lax",
         {"HttpOnly": False, "Secure": False, "SameSite": "lax"},
         "Those words are in the cookie's value, which is not an attribute: look only at the parts after the "
         "first ';', each one whole (not a substring search)"),
        ("a cookie NAMED like an attribute",
         f"secure={_random_id(rng, 12)}; Path=/; SameSite=Lax",
         {"HttpOnly": False, "Secure": False, "SameSite": "lax"},
         "The first part is the cookie's own name=value, even when its name is 'secure': skip it, and read "
         "the attributes after the first ';' only"),
        ("a header with an Expires date and Max-Age",
         f"id={_random_id(rng, 22)}; Expires=Wed, 09 Jun 2032 10:18:14 GMT; Max-Age=3600; Secure; SameSite=None",
         {"HttpOnly": False, "Secure": True, "SameSite": "none"},
         "Split on ';' only: the Expires date contains a ',' and spaces. SameSite=None is an attribute with "
         "the value 'None', not a missing attribute"),
    ]


def _same_flags(result: dict, expected: dict) -> bool:
    samesite = result.get("SameSite")
    if isinstance(samesite, str):
        samesite = samesite.strip().lower()
    return (result.get("HttpOnly") is expected["HttpOnly"] and result.get("Secure") is expected["Secure"]
            and samesite == expected["SameSite"])


class CookieFlags(Exercise):
    title = "Read a cookie's flags"
    _hints = [
        "A Set-Cookie header is the cookie's name=value, then attributes, each after a ';'. "
        "set_cookie.split(';')[1:] are the attributes.",
        "Strip the spaces around each attribute and split it on '=' with str.partition('='). "
        "Attribute names are case-insensitive (RFC 6265 §5.2): compare name.lower().",
        "HttpOnly and Secure have no value: the flag is set when the attribute is there. "
        "SameSite has one (Strict, Lax or None).",
    ]

    def _check(self, cookie_flags: Any, set_cookie: Any) -> str:
        fn = require_function(cookie_flags, "cookie_flags")
        try:
            _stdlib_flags(set_cookie)
        except (http.cookies.CookieError, ValueError, TypeError, AttributeError):
            raise Incorrect("pass the login response's Set-Cookie header as the second argument: "
                            "q1.check(cookie_flags, set_cookie)") from None
        _judge_flags(fn, _flag_cases(random.Random(), set_cookie))
        return ("your function reads the lab's header and 5 fresh ones: attributes in any order and case, "
                "a cookie value and a cookie name that only look like flags, an Expires date. The lab's cookie is HttpOnly "
                "and SameSite=Strict, and not Secure, because the lab speaks plain http.")

    def _check_hidden(self, cookie_flags: Any, set_cookie: Any) -> str:
        fn = require_function(cookie_flags, "cookie_flags")
        _judge_flags(fn, _hidden_flag_cases(drawn("ex01.q1")))
        return "your function also reads a cookie without attributes and ';' with no space or a trailing one."


# Graded, not shown in the lesson: separators other than "; " (RFC 6265 §5.2 ignores the spaces and empty parts).
# Drawn from the course's secret while a class is graded (coursekit.kit.grading.secret_cases): names, values, which
# attributes, their order and their case differ from class to class, so no answer can be tuned to a listing.
def _hidden_flag_cases(rng: random.Random) -> list[tuple[str, str, dict, str]]:
    def cookie() -> str:
        return f"{rng.choice(('sid', 'prefs', 'theme', 'lang', 'cart', 'id'))}={_random_id(rng, rng.randrange(4, 30))}"

    def spelled(name: str) -> str:
        return rng.choice((name, name.lower(), name.upper()))

    def attributes(flag_last: bool = False) -> tuple[list[str], dict]:
        """Some of the flags (at least one), with Path or Max-Age among them, shuffled (``flag_last``: a flag
        last, where a loop that drops the last part would miss it); and what they mean."""
        flags = {"HttpOnly": rng.random() < 0.5, "Secure": rng.random() < 0.5,
                 "SameSite": rng.choice((None, "strict", "lax", "none"))}
        if not any(flags.values()):
            flags[rng.choice(("HttpOnly", "Secure"))] = True
        parts = [spelled(name) for name in ("HttpOnly", "Secure") if flags[name]]
        if flags["SameSite"]:
            parts.append(f"{spelled('SameSite')}={rng.choice((str.title, str.lower))(flags['SameSite'])}")
        parts.append(rng.choice(("Path=/", f"Max-Age={rng.randrange(60, 86400)}")))
        rng.shuffle(parts)
        if flag_last and parts[-1].startswith(("Path", "Max-Age")):
            parts.append(parts.pop(-1 - rng.randrange(1, len(parts))))
        return parts, flags

    no_space, no_space_flags = attributes()
    trailing, trailing_flags = attributes(flag_last=True)
    return [
        ("a cookie with no attributes at all", cookie(),
         {"HttpOnly": False, "Secure": False, "SameSite": None}, "No attributes, no flags"),
        ("a header without spaces after ';'", ";".join([cookie(), *no_space]), no_space_flags,
         "The space after ';' is optional: split on ';' alone and strip each part"),
        ("a header with a trailing ';'", "; ".join([cookie(), *trailing]) + rng.choice((";", "; ")), trailing_flags,
         "An empty part after the last ';' is ignored; the flags before it still count"),
    ]


def _judge_flags(fn: Any, cases: list[tuple[str, str, dict, str]]) -> None:
    """Raise Incorrect, explained, on the first case where cookie_flags() gets the flags wrong."""
    for what, header, expected, advice in cases:
        try:
            result = fn(header)
        except Exception as error:
            raise _raised("cookie_flags", error, f"on {what}: {header!r}") from None
        if not isinstance(result, dict):
            raise Incorrect(f"cookie_flags() returns {type(result).__name__}; return a dict like "
                            "{'HttpOnly': True, 'Secure': False, 'SameSite': 'strict'}")
        missing = [key for key in ("HttpOnly", "Secure", "SameSite") if key not in result]
        if missing:
            raise Incorrect(f"the dict cookie_flags() returns has no {', '.join(map(repr, missing))} key "
                            f"(it has {sorted(map(str, result))})")
        for flag in ("HttpOnly", "Secure"):
            if not isinstance(result[flag], bool):
                raise Incorrect(f"{flag} should be True or False, not {result[flag]!r}")
        if not _same_flags(result, expected):
            got = {key: result[key] for key in ("HttpOnly", "Secure", "SameSite")}
            message = f"on {what}, {header!r}, your function says {got}, but the flags are {expected}"
            raise Incorrect(f"{message}. {advice}" if advice else message)


# --- q2: find your session's row ----------------------------------------------------------------------

class _WatchedServer:
    """A lab server handle that notes which tables a function reads through it."""

    def __init__(self, server: LabServer) -> None:
        self._server = server
        self.tables_read: list[str] = []

    def table(self, name: str) -> list[dict]:
        self.tables_read.append(name)
        return self._server.table(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


_NOT_THE_ARGUMENT = ("your function did not call server.table('sessions') on the server it was given: the check "
                     "passes its own lab server, where the notebook's lab has none of these sessions. Use the "
                     "argument, server.table('sessions'), not lab.table('sessions')")


class MySessionRow(Exercise):
    title = "Find your session's row"
    _hints = [
        "The store keeps hashlib.sha256(session_id.encode()).hexdigest(), in the id_hash column.",
        "Compute that hash, then go through server.table('sessions') and keep the row whose id_hash equals it.",
        "In one line: next(row for row in server.table('sessions') if row['id_hash'] == id_hash).",
    ]

    def _check(self, my_session_row: Any) -> str:
        fn = require_function(my_session_row, "my_session_row")
        server = fresh_lab()
        users = {row["id"]: row["username"] for row in server.table("users")}
        clients = {name: session_login(server, name) for name in ("alice", "bob", "admin")}
        rows = {row["id_hash"]: row for row in server.table("sessions")}
        for name in ("bob", "admin", "alice"):  # not in login order, so "the first row" is wrong at once
            session_id = clients[name].cookies["session"]
            watched = _WatchedServer(server)
            try:
                result = fn(watched, session_id)
            except Exception as error:
                raise self._why_it_raised(error, name, watched) from None
            if "sessions" not in watched.tables_read:
                raise Incorrect(_NOT_THE_ARGUMENT)
            expected = rows[_digest(session_id)]
            if result == expected:
                continue
            if result is None:
                raise Incorrect(f"your function returns None for {name}'s session: no row matched. Compare "
                                "each row's id_hash with hashlib.sha256(session_id.encode()).hexdigest()")
            if result == expected["id_hash"]:
                raise Incorrect("your function returns the hash; return the whole row (the dict) with that id_hash")
            if isinstance(result, list):
                raise Incorrect(f"your function returns a list of {len(result)}; return the one row that matches")
            if isinstance(result, dict) and result.get("id_hash") in rows:
                owner = users.get(result.get("user_id"), "someone else")
                raise Incorrect(f"for {name}'s session your function returns {owner}'s row: keep the row whose "
                                "id_hash is the SHA-256 of the session id you were given")
            raise Incorrect(f"for {name}'s session your function returns {result!r}, "
                            "which is not a row of server.table('sessions')")
        return ("your function found alice's, bob's and admin's rows among 3 sessions, knowing only their "
                "cookies. The other way round is impossible: from a row, nobody can recover the cookie.")


    @staticmethod
    def _why_it_raised(error: Exception, name: str, watched: _WatchedServer) -> Exception:
        if "sessions" not in watched.tables_read:  # first: searching another server's sessions finds nothing
            return Incorrect(_NOT_THE_ARGUMENT)
        if isinstance(error, StopIteration):
            return Incorrect(f"no row matched {name}'s session: next() found no row with the hash you computed. "
                             "The store keeps hashlib.sha256(session_id.encode()).hexdigest(): the session id as "
                             "UTF-8 bytes, hashed, in hex")
        return _raised("my_session_row", error, f"for {name}'s session")


# --- q3: the copied cookie after logout -------------------------------------------------------------


class PredictDeadCookie(Exercise):
    title = "Predict: the copied cookie after logout"
    _hints = [
        "Logout is a request to the server, not only to the browser: what does the server do with alice's row?",
        "When a cookie matches no row, the server does not know who is asking: that is 'not authenticated' "
        "(401), not 'known, but not allowed' (403).",
    ]

    def _check(self, prediction: Any) -> str:
        if not isinstance(prediction, dict) or set(prediction) != {"status", "alice_row_in_store"}:
            raise Incorrect('fill in the dict as given: {"status": ..., "alice_row_in_store": ...}')
        status, kept = prediction["status"], prediction["alice_row_in_store"]
        status = whole_number("status", status)
        if not isinstance(kept, bool):
            raise Incorrect(f"alice_row_in_store should be True or False, not {kept!r}")
        seen = self._run()  # what the lab does, on a server of the check's own
        wrong = []
        if kept != seen["kept"]:
            wrong.append("the logout DELETED alice's row: the store keeps only bob's session now" if kept else
                         "alice's row was still there")
        if status != seen["status"]:
            if status == 200:
                wrong.append(f"the lab answered the copy {seen['status']} {seen['error']}, not 200: the cookie "
                             "is a key to a row, and the row is gone")
            elif status == 403:
                wrong.append(f"the lab answered {seen['status']}, not 403: 403 means 'known, but not allowed'; "
                             "with no row behind the cookie the server does not know who is asking")
            else:
                wrong.append(f"the lab answered the copy {seen['status']} {seen['error']}, not {status}")
        if wrong:
            raise Incorrect("you predicted " + repr(prediction) + ", but " + "; ".join(wrong) +
                            ". The next cell shows the same on the notebook's lab.")
        return (f"on a lab of its own the check logged alice in, copied her cookie, logged out and sent the copy: "
                f"{seen['status']} {seen['error']}, and only bob's row left. Run the next cell to see it on your lab.")

    @staticmethod
    def _run() -> dict:
        server = fresh_lab()
        users = {row["id"]: row["username"] for row in server.table("users")}
        session_login(server, "bob")
        browser = session_login(server, "alice")
        copied = browser.cookies["session"]
        browser.post(server.url + "/session/logout", timeout=10)
        r = http_session().get(server.url + "/session/me", cookies={"session": copied}, timeout=10)
        left = [users[row["user_id"]] for row in server.table("sessions")]
        return {"status": r.status_code, "error": r.json().get("error", ""), "kept": "alice" in left}


q1, q2, q3 = CookieFlags("q1"), MySessionRow("q2"), PredictDeadCookie("q3")
