"""When a learner's code raises, the check says where (their line) and why (the lab server's own error answer).

Each test feeds a wrong answer a learner would plausibly write and asserts the message they see.
"""

import hashlib
import json
import linecache

import requests

from coursekit.exercises import ex01, ex02, ex05
from coursekit.kit import diagnosis
from coursekit.kit.exercise import Exercise, Incorrect, Status
from coursekit.labtools.lab import start_lab, stop_lab
from exercise_helpers import incorrect


def never(outcome, *fragments: str) -> None:
    for fragment in fragments:
        assert fragment not in outcome.message, outcome.message


# --- 02 Ex1: a login function ----------------------------------------------------------------------------

def test_02_q1_a_form_with_the_wrong_grant_type_shows_the_servers_error_not_a_bare_key_error():
    def login(url, username, password):
        r = requests.post(url + "/oauth/token",
                          data={"grant_type": "client_credentials", "username": username, "password": password})
        return r.json()["access_token"]

    outcome = ex02.q1.evaluate(login)
    incorrect(outcome, "login() raised KeyError: 'access_token'", """`return r.json()["access_token"]`""",
              "POST /oauth/token with 400 unsupported_grant_type: grant_type must be authorization_code, password or refresh_token",
              "grant_type is the string 'password'")
    never(outcome, "not JSON", "json=")  # the learner did send a form


def test_02_q1_a_json_body_is_told_by_the_server():
    def login(url, username, password):
        r = requests.post(url + "/oauth/token",
                          json={"grant_type": "password", "username": username, "password": password})
        return r.json()["access_token"]

    incorrect(ex02.q1.evaluate(login), "KeyError: 'access_token'",
              "400 invalid_request: send the parameters as application/x-www-form-urlencoded", "Send a form")


def test_02_q1_raise_for_status_on_a_wrong_password_shows_the_description():
    def login(url, username, password):
        r = requests.post(url + "/oauth/token",
                          data={"grant_type": "password", "username": username, "password": "password"})
        r.raise_for_status()
        return r.json()["access_token"]

    incorrect(ex02.q1.evaluate(login), "login() raised HTTPError: 400 Client Error", "`r.raise_for_status()`",
              "400 invalid_grant: Incorrect username or password", "Send the username and password login() is given")


def test_02_q1_urllib_on_a_wrong_password_shows_the_description():
    import urllib.parse
    import urllib.request

    def login(url, username, password):
        form = urllib.parse.urlencode({"grant_type": "password", "username": username, "password": "nope"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url + "/oauth/token", data=form.encode(), timeout=10) as r:
            return json.load(r)["access_token"]

    incorrect(ex02.q1.evaluate(login), "login() raised HTTPError: HTTP Error 400: Bad Request",
              "/oauth/token with 400 invalid_grant: Incorrect username or password",
              "Send the username and password login() is given")


def test_02_q1_httpx_raise_for_status_inside_an_exception_of_the_learners_own_shows_the_description():
    import httpx

    def login(url, username, password):
        try:
            r = httpx.post(url + "/oauth/token", trust_env=False,
                           data={"grant_type": "password", "username": username, "password": "nope"})
            r.raise_for_status()
        except httpx.HTTPStatusError as error:
            raise PermissionError("login refused") from error
        return r.json()["access_token"]

    incorrect(ex02.q1.evaluate(login), "login() raised PermissionError: login refused",
              "POST /oauth/token with 400 invalid_grant: Incorrect username or password")


def test_02_q1_a_mistake_without_the_server_shows_the_learners_line():
    def login(url, username, password):
        fields = {"grant_type": "password", "username": username, "password": password}
        return requests.post(url + "/oauth/token", data=fields).json()["acces_token"]

    outcome = ex02.q1.evaluate(login)
    incorrect(outcome, "login() raised KeyError: 'acces_token'", "in login:", '["acces_token"]')
    never(outcome, "lab server had answered")  # the server answered 200: nothing of its to show


# --- 05 Ex1: refresh ----------------------------------------------------------------------------------------

def test_05_q1_the_wrong_grant_type_without_raise_for_status_shows_the_servers_error():
    def refresh(url, refresh_token):
        r = requests.post(url + "/oauth/token", data={"grant_type": "refresh", "refresh_token": refresh_token})
        tokens = r.json()
        return tokens["access_token"], tokens["refresh_token"]

    incorrect(ex05.q1.evaluate(refresh), "refresh() raised KeyError: 'access_token'", "tokens[\"access_token\"]",
              "POST /oauth/token with 400 unsupported_grant_type", "grant_type must be the string 'refresh_token'")


# --- 01 Ex1 and Ex2 -----------------------------------------------------------------------------------------

def test_01_q1_a_parser_that_reads_the_name_value_pair_as_an_attribute_is_caught():
    def cookie_flags(set_cookie):
        attributes = {}
        for part in set_cookie.split(";"):  # forgets to skip the cookie's own name=value
            name, _, value = part.strip().partition("=")
            attributes[name.lower()] = value
        return {"HttpOnly": "httponly" in attributes, "Secure": "secure" in attributes,
                "SameSite": attributes.get("samesite")}

    header = "session=abc; HttpOnly; Path=/; SameSite=strict"
    incorrect(ex01.q1.evaluate(cookie_flags, header), "a cookie NAMED like an attribute", "'Secure': True",
              "skip it")


def test_01_q2_the_notebooks_lab_instead_of_the_argument_is_named_not_the_hash():
    lab = start_lab("test-feedback-01")  # the notebook's lab: its own sessions, none of the check's
    try:
        def my_session_row(server, session_id):
            id_hash = hashlib.sha256(session_id.encode()).hexdigest()
            return next(row for row in lab.table("sessions") if row["id_hash"] == id_hash)

        outcome = ex01.q2.evaluate(my_session_row)
    finally:
        stop_lab("test-feedback-01")
    incorrect(outcome, "did not call server.table('sessions') on the server it was given",
              "not lab.table('sessions')")
    never(outcome, "hexdigest", "no row matched")


# --- the kit, for any exercise ------------------------------------------------------------------------------

class Fetch(Exercise):
    title = "Fetch a page"

    def _check(self, fetch):
        server = start_lab("test-feedback-kit")
        try:
            return fetch(server.url)
        finally:
            stop_lab("test-feedback-kit")


def notebook_cell(source: str) -> dict:
    """Run source as IPython runs a cell: its own file name, its lines in linecache; return what it defined."""
    filename = "/tmp/ipykernel_0/1234567.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"requests": requests}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the test's own code
    return namespace


def test_any_check_names_the_learners_line_and_the_last_lab_error():
    fetch = notebook_cell('def fetch(url):\n'
                          '    r = requests.get(url + "/api/me")  # no token: the server says 401\n'
                          '    return r.json()["username"]\n')["fetch"]
    outcome = Fetch("q9").evaluate(fetch)
    incorrect(outcome, "your answer raised KeyError: 'username' (at line 3, in fetch: `return r.json()[\"username\"]`)",
              "The lab server had answered GET /api/me with 401 missing_token: this route needs an access token")


def test_errors_are_noted_only_while_a_check_runs():
    import httpx
    originals = {requests.Session: requests.Session.send, httpx.Client: httpx.Client.send}
    assert originals == diagnosis._original_send
    with diagnosis.watching():
        assert all(client.send is not send for client, send in originals.items())
        with diagnosis.watching():
            pass
        assert all(client.send is not send for client, send in originals.items())
    assert all(client.send is send for client, send in originals.items())


def test_an_error_answer_httpx_received_is_named_as_requests_one_is():
    fetch = notebook_cell('import httpx\ndef fetch(url):\n'
                          '    r = httpx.get(url + "/api/me")  # no token: the server says 401\n'
                          '    return r.json()["username"]\n')["fetch"]
    outcome = Fetch("q9").evaluate(fetch)
    incorrect(outcome, "your answer raised KeyError: 'username' (at line 4, in fetch: `return r.json()[\"username\"]`)",
              "The lab server had answered GET /api/me with 401 missing_token: this route needs an access token")


def test_an_incorrect_from_the_check_is_passed_through_unchanged():
    class Strict(Exercise):
        def _check(self, answer):
            raise Incorrect("no")

    assert Strict().evaluate(1).text == f"{Status.INCORRECT.value}: no"
