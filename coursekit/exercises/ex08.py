"""Exercises of notebook 08, HTTPS and the browser: read secrets off the wire, verify a server, choose where a
page keeps its login.

q1 and q2 are checked on labs of their own: q1 captures fresh logins through a relay (plain HTTP and TLS) and
compares what the learner's function finds with what was really sent; q2 points the learner's client at the
genuine lab and at an impostor whose certificate comes from another CA, with the environment set up the way
that catches a session's ``verify`` being silently overridden. q3 is a judgement, answered with the lesson's
own measurements.
"""

from __future__ import annotations

import contextlib
import os

import requests
import requests.adapters

from coursekit.labtools.client import bearer, http_session
from coursekit.kit.exercise import Exercise, Incorrect, require_function
from coursekit.kit.timelimit import run_limited
from coursekit.labtools.lab import fresh_lab
from coursekit.labtools.relay import Relay
from coursekit.labtools.tls import LocalPKI, make_local_pki

__all__ = ["q1", "q2", "q3", "check_pki"]

_pki: dict[str, LocalPKI] = {}
_RUNNING_STATE = ("_pki",)  # made on first use, by the lesson's cells or a check (coursekit.kit.grading.seal leaves it be)


# The name on the certificate the course CA mis-issues for the check's third server (not 127.0.0.1).
MISISSUED_NAME = "impostor.jwt-course.test"
CALL_LIMIT = 10  # seconds one call of fetch_hello may take


def check_pki(name: str) -> LocalPKI:
    """A certificate authority and server certificate of the checks' own ("course" or "impostor"), made once.

    The course CA also issues a certificate for another name (``MISISSUED_NAME``), for a server that a client
    trusting the CA but not checking names would take for the lab.
    """
    if name not in _pki:
        _pki[name] = make_local_pki(misissued_for=MISISSUED_NAME if name == "course" else None)
    return _pki[name]


class _ExpectName(requests.adapters.HTTPAdapter):
    """The checker's own requests to the mis-issued server: verified, against the name its certificate bears."""

    def __init__(self, name: str) -> None:
        self._name = name
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, assert_hostname=self._name, **kwargs)


def _misnamed_lab(course: LocalPKI):
    lab = fresh_lab(tls=course.misissued)
    lab.http.mount("https://", _ExpectName(MISISSUED_NAME))
    return lab


# --- q1: read the wire ----------------------------------------------------------------------------------

# A password with characters that form encoding changes: what travels is "p%40ss+w0rd%26more%3D".
_TRICKY = ("carol", "p@ss w0rd&more=", "user")


def capture(lab, username: str, password: str, scheme: str = "http", verify=True) -> tuple[bytes, str]:
    """Log in through a relay and call /api/me with the token; return the bytes the client sent, and the token."""
    with Relay(lab.port) as relay:
        client = http_session()
        client.verify = verify
        base = relay.url(scheme)
        token = client.post(base + "/oauth/token", timeout=10, data={
            "grant_type": "password", "username": username, "password": password}).json()["access_token"]
        client.get(base + "/api/me", headers=bearer(token), timeout=10).raise_for_status()
        client.close()
        return bytes(relay.sent), token


class ReadTheWire(Exercise):
    title = "Find the password and the bearer token in captured bytes"
    _hints = [
        "The bytes are two HTTP requests one after the other: the login (POST /oauth/token, a form body) and "
        "the API call (with an 'Authorization: Bearer ...' header). Decode with captured.decode('latin-1').",
        "The token: re.search(r'Authorization: Bearer (\\S+)', text). The password: the login's body starts "
        "after the first blank line ('\\r\\n\\r\\n') and is exactly Content-Length characters long; the next "
        "request follows it directly.",
        "The body is form-encoded (application/x-www-form-urlencoded): urllib.parse.parse_qs(body)['password'][0] "
        "decodes '+' and '%40'. Over TLS there is nothing to find: return None for both.",
    ]

    def _check(self, find_secrets):
        require_function(find_secrets, "find_secrets")
        lab = fresh_lab(users=(("alice", "alice-password", "user"), _TRICKY))
        for username, password, _role in (("alice", "alice-password", "user"), _TRICKY):
            captured, token = capture(lab, username, password)
            found = self._call(find_secrets, captured, f"the plain-HTTP bytes of {username}'s login")
            mine = found["token"]
            if isinstance(mine, str) and mine != token and mine.startswith(token):
                raise Incorrect(f"in {username}'s capture you found the token with {mine[len(token):]!r} after it: the header "
                                f"line ends with '\\r\\n', so stop at the first whitespace (\\S+), not at '\\n'")
            if found["token"] != token:
                raise Incorrect(f"in {username}'s capture the bearer token is {token[:16]}..., you found "
                                f"{_short(found['token'])}: take everything after 'Authorization: Bearer ' up "
                                f"to the end of that line")
            if found["password"] != password:
                raise Incorrect(_password_advice(found["password"], password, username))
        pki = check_pki("course")
        tls_lab = fresh_lab(tls=pki)
        captured, _token = capture(tls_lab, "alice", "alice-password", "https", pki.ca)
        found = self._call(find_secrets, captured, "bytes captured through TLS")
        if found != {"password": None, "token": None}:
            raise Incorrect(f"on bytes captured through TLS you found {found}: those bytes are ciphertext, there "
                            f"is nothing to find (return None for both)")
        return ("both secrets found in plain HTTP, the URL-encoded password decoded, and nothing claimed in "
                "TLS ciphertext.")

    @staticmethod
    def _call(find_secrets, captured: bytes, what: str) -> dict:
        try:
            found = find_secrets(captured)
        except Exception as error:
            raise Incorrect(f"find_secrets raised {type(error).__name__}: {error} on {what}") from None
        if not isinstance(found, dict) or set(found) != {"password", "token"}:
            raise Incorrect("find_secrets should return a dict with the keys 'password' and 'token', got "
                            f"{_short(found) if isinstance(found, str) else repr(found)[:80]}")
        return found


def _short(value) -> str:
    """A long text as its start and its end, each as repr, so that an invisible '\\r' at the end still shows."""
    if not isinstance(value, str) or len(value) < 24:
        return repr(value)
    return f"{value[:16]!r}...{value[-6:]!r}"


def _password_advice(found, password: str, username: str) -> str:
    from urllib.parse import quote_plus

    wanted = f"{username}'s password is {password!r}, you found {found!r}"
    if found == quote_plus(password):
        return (f"{wanted}: that is the password as it travels, form-encoded. Decode it: "
                f"urllib.parse.parse_qs(body)['password'][0]")
    if isinstance(found, str) and found.startswith(password) and found != password:
        return (f"{wanted}: you read past the end of the body, into the next request. The body is exactly "
                f"Content-Length characters long")
    return f"{wanted}: the password is in the body of POST /oauth/token, after the first blank line"


# --- q2: verify the server, never switch verification off ----------------------------------------------

@contextlib.contextmanager
def _environment_bundle(path: str):
    """Set REQUESTS_CA_BUNDLE as many machines do; it overrides a Session's verify (requests #3829)."""
    before = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = path
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = before


class VerifiedClient(Exercise):
    title = "A client that verifies the lab's certificate against the course CA"
    _hints = [
        "requests verifies certificates by default, against the system's CAs, which do not know the course "
        "CA: tell it which CA file to trust with the verify= argument.",
        "return requests.get(url + '/api/hello', verify=ca_file, timeout=10).json(). Pass verify= on the "
        "request itself: an environment variable REQUESTS_CA_BUNDLE overrides a Session's verify attribute. "
        "And never verify=False: it accepts any server at all.",
    ]

    def _check(self, fetch_hello):
        """Judged by what reached each server (its request counters), whatever library the client uses."""
        require_function(fetch_hello, "fetch_hello")
        course, impostor = check_pki("course"), check_pki("impostor")
        genuine, fake, misnamed = fresh_lab(tls=course), fresh_lab(tls=impostor), _misnamed_lab(course)
        with _environment_bundle(impostor.ca):
            try:
                answer = run_limited(CALL_LIMIT, lambda: fetch_hello(genuine.url, course.ca), "fetch_hello(lab)")
            except Incorrect:
                raise
            except Exception as error:  # noqa: BLE001 - whatever the library raises, the lab was refused
                raise Incorrect(_refused_genuine(error)) from None
            if answer != {"message": "hello, anyone"}:
                raise Incorrect(f"fetch_hello should return the JSON answer of /api/hello, got {answer!r:.120}")
            for server, who, advice in (
                    (fake, "an impostor whose certificate the course CA never signed",
                     "verification is off, or trusts another CA than ca_file: verify against ca_file (requests: "
                     "verify=ca_file on the request itself; ssl: create_default_context(cafile=ca_file)), never "
                     "verify=False or CERT_NONE"),
                    (misnamed, f"a server whose certificate the course CA issued for {MISISSUED_NAME}, not for "
                     "127.0.0.1", "your client trusts the right CA but does not check the name on the certificate "
                     "(check_hostname = False, assert_hostname=False): any certificate the CA ever issued would "
                     "do. Leave hostname checking on")):
                try:
                    answer = run_limited(CALL_LIMIT, lambda: fetch_hello(server.url, course.ca), "fetch_hello")
                except Incorrect:
                    raise
                except Exception:  # noqa: BLE001 - refused: what matters is whether the request got through
                    answer = None
                reached = server.stats().get("GET /api/hello", {}).get("requests", 0)
                if reached or answer is not None:
                    raise Incorrect(f"your client talked to {who}: its request reached that server"
                                    + (f" and got {answer!r}" if answer is not None else "") + f". {advice}")
        return ("the genuine lab answered; the impostor and the server whose certificate names another host were "
                "refused before a request reached them, even with REQUESTS_CA_BUNDLE pointing elsewhere.")


def _refused_genuine(error: Exception) -> str:
    return ("your client refused the genuine lab: its certificate was not verified against ca_file "
            f"({type(error).__name__}: {str(error)[:100]}). Verify against ca_file on the request itself "
            "(requests: verify=ca_file; ssl: create_default_context(cafile=ca_file)): requests otherwise uses the "
            "system's CAs, and REQUESTS_CA_BUNDLE from the environment overrides a Session's verify attribute")


# --- q3: where a page keeps its login --------------------------------------------------------------------

MODES = frozenset({"cookie", "localStorage", "memory"})

# What lesson 08's browser scenario measured, with the reason a learner should be told for each.
FACTS = {
    "script_reads": ({"localStorage"},
                     "the injected script read localStorage directly; document.cookie was \"\" (HttpOnly), and a "
                     "token in a closure variable has no name a script can reach"),
    "usable_after_tab_closed": ({"localStorage", "memory"},
                                "a token that left the browser works from anywhere until it expires: the "
                                "localStorage token left at once, the in-memory one on the page's next API call "
                                "(the script hooked fetch); the HttpOnly cookie never left, so the attacker could "
                                "use it only through the open page"),
    "sent_by_cross_site_form": (set(),
                                "no login travelled with the form from 127.0.0.1: the SameSite=Strict cookie "
                                "stayed home, and a bearer token goes only where the page's code puts it"),
    "sent_by_same_site_form": ({"cookie"},
                               "localhost on another port is another origin but the same site: the Strict cookie "
                               "went with the form (SameSite is not a CSRF defence on its own)"),
    # Two the demo did not run in every mode: what the guarded lab's Content-Security-Policy changes.
    "script_reads_under_csp": (set(),
                               "under the policy the browser refused to load the attacker's script at all (the "
                               "last Chromium run): no script runs, so in no mode does it read anything, or hook "
                               "fetch"),
    "sent_by_same_site_form_under_csp": ({"cookie"},
                                         "a Content-Security-Policy governs what the lab's own page may load; the "
                                         "form is on the attacker's page, which no policy of the lab covers: the "
                                         "Strict cookie went with the same-site form as before (the server's Origin "
                                         "check is what refuses it)"),
}


class WhereToKeepIt(Exercise):
    title = "Where should the page keep its login?"
    _hints = [
        "Each answer is a set of modes among 'cookie', 'localStorage' and 'memory' (possibly the empty set). "
        "Read them off the table the headless Chromium printed above.",
        "Only one mode can be read by the script; two left the browser; none went with the cross-site form; "
        "one went with the same-site form.",
        "Under the policy: which page does a Content-Security-Policy govern, the lab's or the attacker's? The "
        "script is loaded by the lab's page; the form lives on the attacker's.",
    ]

    def _check(self, script_reads, usable_after_tab_closed, sent_by_cross_site_form, sent_by_same_site_form,
               script_reads_under_csp, sent_by_same_site_form_under_csp):
        answers = dict(script_reads=script_reads, usable_after_tab_closed=usable_after_tab_closed,
                       sent_by_cross_site_form=sent_by_cross_site_form, sent_by_same_site_form=sent_by_same_site_form,
                       script_reads_under_csp=script_reads_under_csp,
                       sent_by_same_site_form_under_csp=sent_by_same_site_form_under_csp)
        for name, given in answers.items():
            if isinstance(given, str) or not isinstance(given, (set, frozenset, list, tuple)):
                raise Incorrect(f"{name} should be a set of modes such as {{'cookie'}} or set(), not {given!r}")
            unknown = set(given) - MODES
            if unknown:
                raise Incorrect(f"{name}: {sorted(unknown)} is not a mode; the modes are 'cookie', 'localStorage' "
                                f"and 'memory'")
        for name, (right, why) in FACTS.items():
            if set(answers[name]) != right:
                raise Incorrect(f"{name} is {_set(right)}, not {_set(answers[name])}: {why}")
        return ("so: keep tokens out of reach of page scripts (an HttpOnly cookie, or better a backend-for-frontend "
                "that never gives the page a token), stop the injection itself (escaping, a Content-Security-Policy), "
                "and still check Origin: a policy on your page does nothing against a form on someone else's.")


def _set(modes) -> str:
    return "{" + ", ".join(repr(m) for m in sorted(modes)) + "}" if modes else "set()"


q1, q2, q3 = ReadTheWire("q1"), VerifiedClient("q2"), WhereToKeepIt("q3")
