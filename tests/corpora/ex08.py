"""Lesson 08: reading the wire, a client that verifies the server, where a page keeps its login."""

from __future__ import annotations

import http.client
import json
import re
import ssl
import urllib.request
from urllib.parse import parse_qs, unquote_plus, urlsplit

import requests
import requests.adapters

from coursekit.exercises.ex08 import q1, q2, q3
from corpora import right, wrong

# --- q1: find the password and the token in captured bytes ----------------------------------------------------


def _by_lines(captured: bytes) -> dict:
    """Split into requests by hand: headers, Content-Length, body; decode the form with unquote_plus."""
    text, password, token = captured.decode("latin-1"), None, None
    while text.startswith(("POST ", "GET ")):
        head, _, rest = text.partition("\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:])
        length = int(headers.get("Content-Length", 0))
        body, text = rest[:length], rest[length:]
        if head.startswith("POST /oauth/token"):
            fields = dict(pair.split("=", 1) for pair in body.split("&"))
            password = unquote_plus(fields["password"])
        if headers.get("Authorization", "").startswith("Bearer "):
            token = headers["Authorization"][len("Bearer "):]
    return {"password": password, "token": token}


def _with_http_client_parser(captured: bytes) -> dict:
    """Find the login body by Content-Length with a regex per request, decode with parse_qs."""
    found = {"password": None, "token": None}
    for match in re.finditer(rb"(POST|GET) (\S+) HTTP/1.1\r\n(.*?)\r\n\r\n", captured, re.S):
        headers = dict(re.findall(rb"([\w-]+): (.*)", match.group(3)))
        if headers.get(b"Authorization", b"").startswith(b"Bearer "):
            found["token"] = headers[b"Authorization"][7:].decode()
        if match.group(2) == b"/oauth/token":
            body = captured[match.end():match.end() + int(headers[b"Content-Length"])]
            found["password"] = parse_qs(body.decode())["password"][0]
    return found


def _token_as_word(captured: bytes) -> dict:
    found = _by_lines(captured)
    m = re.search(r"Bearer (\w+)", captured.decode("latin-1"))  # \w stops at the first '.' or '-'
    return {**found, "token": m.group(1) if m else None}


def _unquote_not_plus(captured: bytes) -> dict:
    found = _by_lines(captured)
    if found["password"] is not None:
        from urllib.parse import quote_plus, unquote
        found["password"] = unquote(quote_plus(found["password"]))  # '+' stays a '+'
    return found


def _password_field_anywhere(captured: bytes) -> dict:
    found = _by_lines(captured)
    m = re.search(r"password=([^&\s]*)", captured.decode("latin-1"))
    return {**found, "password": unquote_plus(m.group(1)) if m else None}


def _guesses_through_tls(captured: bytes) -> dict:
    found = _by_lines(captured)
    if found["token"] is None:  # "it must be in there somewhere"
        m = re.search(rb"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", captured)
        found["token"] = m.group(0).decode() if m else "unknown"
    return found


# --- q2: verify the server --------------------------------------------------------------------------------------


def _urllib_ssl(url, ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    with urllib.request.urlopen(url + "/api/hello", context=context, timeout=10) as r:
        return json.load(r)


def _http_client(url, ca_file):
    parts = urlsplit(url)
    connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10,
                                             context=ssl.create_default_context(cafile=ca_file))
    try:
        connection.request("GET", "/api/hello")
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def _session_without_environment(url, ca_file):
    with requests.Session() as session:
        session.trust_env = False  # REQUESTS_CA_BUNDLE no longer overrides session.verify
        session.verify = ca_file
        return session.get(url + "/api/hello", timeout=10).json()


def _httpx(url, ca_file):
    import httpx
    return httpx.get(url + "/api/hello", verify=ssl.create_default_context(cafile=ca_file), timeout=10).json()


def _urllib_no_hostname_check(url, ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = False  # "the lab is on 127.0.0.1, names do not matter"
    with urllib.request.urlopen(url + "/api/hello", context=context, timeout=10) as r:
        return json.load(r)


class _NoHostname(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, assert_hostname=False, **kwargs)


def _requests_no_hostname_check(url, ca_file):
    with requests.Session() as session:
        session.mount("https://", _NoHostname())
        return session.get(url + "/api/hello", verify=ca_file, timeout=10).json()


def _urllib_unverified(url, ca_file):
    with urllib.request.urlopen(url + "/api/hello", context=ssl._create_unverified_context(),  # noqa: S323
                                timeout=10) as r:
        return json.load(r)


def _cert_none(url, ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url + "/api/hello", context=context, timeout=10) as r:
        return json.load(r)


def _system_cas_with_urllib(url, ca_file):
    with urllib.request.urlopen(url + "/api/hello", timeout=10) as r:
        return json.load(r)


def _falls_back_to_unverified(url, ca_file):
    try:
        return _urllib_ssl(url, ca_file)
    except Exception:  # noqa: BLE001 - "if verification fails, try without"
        return _urllib_unverified(url, ca_file)


# --- q3: where to keep the login --------------------------------------------------------------------------------

RIGHT3 = dict(script_reads={"localStorage"}, usable_after_tab_closed={"localStorage", "memory"},
              sent_by_cross_site_form=set(), sent_by_same_site_form={"cookie"}, script_reads_under_csp=set(),
              sent_by_same_site_form_under_csp={"cookie"})


def _q3(**changes):
    return tuple({**RIGHT3, **changes}.values())


CASES = [
    right(q1, "split by hand and unquote_plus", _by_lines),
    right(q1, "regex per request on bytes, parse_qs", _with_http_client_parser),
    wrong(q1, "token matched as a word", _token_as_word, says=("the bearer token is", "up to the end of that line")),
    wrong(q1, "unquote instead of unquote_plus", _unquote_not_plus,
          says=("carol's password is 'p@ss w0rd&more='", "you found 'p@ss+w0rd&more='")),
    wrong(q1, "the password field read to the end of the capture", _password_field_anywhere,
          says=("you read past the end of the body", "Content-Length")),
    wrong(q1, "guesses a token in ciphertext", _guesses_through_tls, says=("through TLS you found", "ciphertext")),
    right(q2, "urllib with an ssl context", _urllib_ssl),
    right(q2, "http.client with an ssl context", _http_client),
    right(q2, "a session that ignores the environment", _session_without_environment),
    right(q2, "httpx with an ssl context", _httpx),
    wrong(q2, "urllib with check_hostname off", _urllib_no_hostname_check,
          says=("talked to a server whose certificate the course CA issued for impostor.jwt-course.test",
                "does not check the name", "Leave hostname checking on")),
    wrong(q2, "requests with assert_hostname=False", _requests_no_hostname_check,
          says=("issued for impostor.jwt-course.test", "check_hostname = False, assert_hostname=False")),
    wrong(q2, "urllib unverified context", _urllib_unverified,
          says=("talked to an impostor whose certificate the course CA never signed", "never verify=False")),
    wrong(q2, "CERT_NONE", _cert_none, says=("talked to an impostor", "CERT_NONE")),
    wrong(q2, "urllib with the system CAs", _system_cas_with_urllib,
          says=("refused the genuine lab", "URLError", "create_default_context(cafile=ca_file)")),
    wrong(q2, "falls back to unverified", _falls_back_to_unverified, says="talked to an impostor"),
    right(q3, "lists and tuples instead of sets", *_q3(script_reads=["localStorage"],
                                                         usable_after_tab_closed=("memory", "localStorage"),
                                                         sent_by_cross_site_form=[],
                                                         sent_by_same_site_form=frozenset({"cookie"}))),
    wrong(q3, "the cookie went with the cross-site form", *_q3(sent_by_cross_site_form={"cookie"}),
          says=("sent_by_cross_site_form is set()", "SameSite=Strict cookie stayed home")),
    wrong(q3, "memory tokens cannot leave", *_q3(usable_after_tab_closed={"localStorage"}),
          says=("usable_after_tab_closed is", "the in-memory one on the page's next API call")),
    wrong(q3, "scripts read cookies", *_q3(script_reads={"localStorage", "cookie"}), says="HttpOnly"),
    wrong(q3, "the policy only stops localStorage reads", *_q3(script_reads_under_csp={"cookie"}),
          says=("script_reads_under_csp is set()", "no script runs")),
    wrong(q3, "the policy stops the same-site form too", *_q3(sent_by_same_site_form_under_csp=set()),
          says=("sent_by_same_site_form_under_csp is {'cookie'}", "the form is on the attacker's page")),
]
