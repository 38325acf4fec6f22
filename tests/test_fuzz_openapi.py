"""Property-based fuzzing: whatever comes in, no endpoint answers with a 5xx.

Schemathesis generates requests for every operation in /openapi.json. Each is sent with one of several
credentials (none, a user's token, an admin's token, a session cookie, garbage), so the checks behind
them run too. The operations share one server, so state changes (clock moves, role changes, resets)
carry over between examples: more paths through the server, and still the only claim is "no 5xx".
Nothing is excluded. The schema cannot describe every malformed Authorization header or form body, so two
more properties fuzz those. tests/test_openapi_truth.py runs schemathesis with all of its checks.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from conftest import Auth, make_client
from helpers import bearer

FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])

client = make_client()
auth = Auth(client)
schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)

_session_id = client.post("/session/login", data={"username": "bob", "password": "bob-password"}).cookies["session"]
CREDENTIALS = {
    "none": {},
    "user-token": bearer(auth.token("alice")["access_token"]),
    "admin-token": bearer(auth.token("admin")["access_token"]),
    "session-cookie": {"Cookie": f"session={_session_id}"},
    "garbage-token": bearer("e30.e30.e30"),
    "garbage-basic": {"Authorization": "Basic and%20not%20base64"},
}


@schema.parametrize()
@schema.given(credentials=st.sampled_from(sorted(CREDENTIALS)))
@FAST
def test_no_operation_answers_with_a_server_error(case, credentials):
    case.call_and_validate(headers={**CREDENTIALS[credentials], **(case.headers or {})},
                           checks=[not_a_server_error])


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FORM_BODY = b"grant_type=refresh_token&refresh_token=x&token=x"
# Header values reach the app as latin-1 octets: anything from space to ÿ, tab included.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF) | st.just("\t"), max_size=120)


@given(scheme=st.sampled_from(["Bearer ", "bearer ", "Basic ", "", "Bearer e30."]), rest=header_text)
@FAST
def test_any_authorization_header_gets_a_4xx_or_the_resource(scheme, rest):
    value = (scheme + rest).encode("latin-1")
    for method, path in (("GET", "/api/me"), ("GET", "/admin/users"), ("POST", "/oauth/token"),
                         ("POST", "/oauth/revoke")):
        r = client.request(method, path, headers={"Authorization": value, **FORM}, content=FORM_BODY)
        assert r.status_code < 500, (method, path, value, r.text)
        if r.status_code >= 400:
            assert set(r.json()) == {"error", "error_description"}


@given(body=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
       content_type=st.sampled_from(["application/x-www-form-urlencoded",
                                     "application/x-www-form-urlencoded; charset=latin-1",
                                     "multipart/form-data; boundary=x", "application/json"]))
@FAST
def test_any_body_posted_to_a_form_endpoint_gets_a_4xx_or_an_answer(body, content_type):
    for path in ("/oauth/token", "/oauth/revoke", "/session/login", "/lab/clock/advance", "/lab/clock/set"):
        r = client.post(path, content=body, headers={"Content-Type": content_type})
        assert r.status_code < 500, (path, body, r.text)
