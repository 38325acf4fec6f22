"""A corpus of malformed input: every case is refused with a 4xx in the one error shape, never a 5xx."""

from __future__ import annotations

import base64
import json

import pytest

from conftest import T0, make_client
from helpers import b64url, b64url_json, error, forge, hs256, sign, valid_claims
from labserver.storage.store import TABLES

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MALFORMED = "token is malformed"
NOT_A_FORM = "send the parameters as application/x-www-form-urlencoded"
BAD_HEADER = "the Authorization header must be: Bearer <token>"
NO_TOKEN = "this route needs an access token: Authorization: Bearer <token>"


@pytest.fixture(scope="module")
def client():
    """One server for the whole corpus: every case is refused, so none changes what the next one meets."""
    with make_client() as c:
        yield c


@pytest.fixture
def lab(client):
    lab = client.app.state.lab
    lab.clock.set(T0)  # should a case wrongly move the clock, the next one still starts at T0
    return lab


def assert_refused(response, status: int, code: str, description: str) -> None:
    assert response.status_code == status, response.text
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error", "error_description"}
    assert response.json() == error(code, description)


def raw_claims(lab, replace: str, by: str) -> str:
    """A token whose payload text has ``replace`` swapped for ``by``: JSON that json.dumps cannot write."""
    text = json.dumps(valid_claims(lab), separators=(",", ":"))
    assert replace in text
    return sign(lab, text.replace(replace, by).encode())


def _exp(lab) -> str:
    return f'"exp":{valid_claims(lab)["exp"]}'


TOKENS = [
    pytest.param(lambda lab: "a.b.c", MALFORMED, id="bad-base64"),
    pytest.param(lambda lab: "e30", MALFORMED, id="one-segment"),
    pytest.param(lambda lab: "e30.e30.e30.e30", MALFORMED, id="four-segments"),
    pytest.param(lambda lab: "..", MALFORMED, id="empty-segments"),
    pytest.param(lambda lab: f"{b64url('not json')}.e30.e30", MALFORMED, id="header-not-json"),
    pytest.param(lambda lab: f"{b64url_json([1])}.e30.e30", MALFORMED, id="header-is-an-array"),
    pytest.param(lambda lab: b64url(b"\xff\xfe") + ".e30.e30", MALFORMED, id="header-not-utf8"),
    pytest.param(lambda lab: f"{b64url_json({'typ': 'at+jwt'})}.e30.e30", "algorithm must be HS256", id="no-alg"),
    pytest.param(lambda lab: hs256({"alg": "HS256", "typ": "at+jwt", "kid": 7}, valid_claims(lab),
                                   lab.keys.active.signing_key), MALFORMED, id="kid-is-a-number"),
    pytest.param(lambda lab: sign(lab, valid_claims(lab), crit=["exp"]), MALFORMED, id="unknown-crit"),
    pytest.param(lambda lab: forge(lab) + "==", MALFORMED, id="padded-signature"),
    pytest.param(lambda lab: sign(lab, b"not json"), MALFORMED, id="payload-not-json"),
    pytest.param(lambda lab: sign(lab, b"\xff\xfe"), MALFORMED, id="payload-not-utf8"),
    pytest.param(lambda lab: sign(lab, [valid_claims(lab)]), MALFORMED, id="payload-is-an-array"),
    pytest.param(lambda lab: sign(lab, "claims"), MALFORMED, id="payload-is-a-string"),
    pytest.param(lambda lab: forge(lab, exp="tomorrow"), "claim exp must be a number", id="exp-is-a-string"),
    pytest.param(lambda lab: forge(lab, exp=True), "claim exp must be a number", id="exp-is-a-bool"),
    pytest.param(lambda lab: raw_claims(lab, _exp(lab), '"exp":1e309'), "claim exp must be a number",
                 id="exp-overflows-to-infinity"),
    pytest.param(lambda lab: raw_claims(lab, _exp(lab), '"exp":1' + "0" * 400), "claim exp must be a number",
                 id="exp-is-a-huge-integer"),
    pytest.param(lambda lab: forge(lab, iat="now"), "claim iat must be a number", id="iat-is-a-string"),
    pytest.param(lambda lab: forge(lab, iat=-10 ** 400), "claim iat must be a number", id="iat-is-a-huge-integer"),
    pytest.param(lambda lab: forge(lab, nbf=[1]), "claim nbf must be a number", id="nbf-is-a-list"),
    pytest.param(lambda lab: forge(lab, sub=1), MALFORMED, id="sub-is-a-number"),
    pytest.param(lambda lab: forge(lab, jti=1), MALFORMED, id="jti-is-a-number"),
    pytest.param(lambda lab: forge(lab, aud=1), "token is meant for another audience", id="aud-is-a-number"),
    pytest.param(lambda lab: forge(lab, iss=1), "token is from another issuer", id="iss-is-a-number"),
    pytest.param(lambda lab: forge(lab, client_id=1), "claim client_id must be a string", id="client_id-is-a-number"),
    pytest.param(lambda lab: forge(lab, username=None), "claim username must be a string", id="no-username"),
    pytest.param(lambda lab: forge(lab, roles="admin"), "claim roles must be a list", id="roles-is-a-string"),
    pytest.param(lambda lab: "a" * 1_000_000, "token is too long", id="one-megabyte"),
    pytest.param(lambda lab: forge(lab, pad="x" * 8192), "token is too long", id="just-over-8-kb"),
]


@pytest.mark.parametrize(("make_token", "description"), TOKENS)
def test_malformed_bearer_token_is_an_invalid_token(client, lab, make_token, description):
    r = client.get("/api/me", headers={"Authorization": f"Bearer {make_token(lab)}"})
    assert_refused(r, 401, "invalid_token", description)


@pytest.mark.parametrize(("header", "status", "code", "description"), [
    pytest.param("", 401, "missing_token", NO_TOKEN, id="empty"),
    pytest.param("Basic abc", 401, "missing_token", NO_TOKEN, id="basic"),
    pytest.param("Token abc", 401, "missing_token", NO_TOKEN, id="other-scheme"),
    pytest.param("Bearer\tabc", 401, "missing_token", NO_TOKEN, id="tab-separated"),
    pytest.param("Bearer", 400, "invalid_request", BAD_HEADER, id="bearer-alone"),
    pytest.param("Bearer ", 400, "invalid_request", BAD_HEADER, id="bearer-space"),
    pytest.param("Bearer a b", 400, "invalid_request", BAD_HEADER, id="two-tokens"),
    pytest.param("Bearer a,b", 400, "invalid_request", BAD_HEADER, id="comma"),
    pytest.param(b"Bearer \xe9t\xe9", 400, "invalid_request", BAD_HEADER, id="latin-1"),
    pytest.param("Bearer null", 401, "invalid_token", MALFORMED, id="null"),
    pytest.param("Bearer ====", 400, "invalid_request", BAD_HEADER, id="only-padding"),
])
def test_malformed_authorization_header_is_refused(client, header, status, code, description):
    r = client.get("/api/me", headers={"Authorization": header})
    assert_refused(r, status, code, description)
    assert r.headers["www-authenticate"].startswith('Bearer realm="labserver"')


def basic(text: bytes) -> dict[str, str]:
    return {**FORM, "Authorization": "Basic " + base64.b64encode(text).decode()}


@pytest.mark.parametrize(("request_kwargs", "status", "code", "description"), [
    pytest.param({"json": {"grant_type": "password"}}, 400, "invalid_request", NOT_A_FORM, id="json"),
    pytest.param({"content": b"grant_type=password"}, 400, "invalid_request", NOT_A_FORM, id="no-content-type"),
    pytest.param({"files": {"grant_type": (None, "password")}}, 400, "invalid_request", NOT_A_FORM, id="multipart"),
    pytest.param({"content": b"grant_type=password", "headers": {"Content-Type": "text/plain"}},
                 400, "invalid_request", NOT_A_FORM, id="text-plain"),
    pytest.param({"content": b"%%%", "headers": FORM}, 400, "invalid_request", "parameter grant_type is missing",
                 id="percent-signs"),
    pytest.param({"content": b"grant_type", "headers": FORM}, 400, "invalid_request",
                 "parameter grant_type is missing", id="name-without-value"),
    pytest.param({"content": b"\xff\xfe", "headers": FORM}, 400, "invalid_request",
                 "parameter grant_type is missing", id="not-utf8"),
    pytest.param({"content": b"", "headers": FORM}, 400, "invalid_request", "parameter grant_type is missing",
                 id="empty-body"),
    pytest.param({"content": b"grant_type=password&grant_type=password", "headers": FORM}, 400,
                 "invalid_request", "parameter grant_type is repeated", id="repeated-grant-type"),
    pytest.param({"content": b"grant_type=password&username=alice", "headers": FORM}, 400,
                 "invalid_request", "parameter password is missing", id="no-password"),
    pytest.param({"content": b"grant_type=client_credentials", "headers": FORM}, 400,
                 "unsupported_grant_type", "grant_type must be authorization_code, password or refresh_token", id="unknown-grant"),
    pytest.param({"content": b"grant_type=password;username=alice", "headers": FORM}, 400,
                 "unsupported_grant_type", "grant_type must be authorization_code, password or refresh_token", id="semicolon"),
    pytest.param({"content": b"grant_type=password&username=%ff&password=%00", "headers": FORM}, 400,
                 "invalid_grant", "Incorrect username or password", id="odd-bytes-in-values"),
    pytest.param({"content": b"grant_type=password&client_id=other", "headers": FORM}, 401,
                 "invalid_client", "unknown client; this server knows one client: jwt-course", id="unknown-client"),
    pytest.param({"content": b"grant_type=password", "headers": basic(b"other:")}, 401,
                 "invalid_client", "unknown client; this server knows one client: jwt-course", id="basic-other"),
    pytest.param({"content": b"grant_type=password", "headers": {**FORM, "Authorization": "Basic !!!"}}, 401,
                 "invalid_client", "client authentication is malformed", id="basic-not-base64"),
    pytest.param({"content": b"grant_type=password", "headers": basic(b"\xff:")}, 401,
                 "invalid_client", "client authentication is malformed", id="basic-not-utf8"),
    pytest.param({"content": b"grant_type=password", "headers": {**FORM, "Authorization": b"Basic \xe9"}}, 401,
                 "invalid_client", "client authentication is malformed", id="basic-not-ascii"),
])
def test_malformed_token_request_is_refused(client, request_kwargs, status, code, description):
    r = client.post("/oauth/token", **request_kwargs)
    assert_refused(r, status, code, description)
    assert r.headers["cache-control"] == "no-store"
    if status == 401:
        assert r.headers["www-authenticate"] == 'Basic realm="labserver"'


@pytest.mark.parametrize(("path", "request_kwargs", "description"), [
    ("/oauth/revoke", {"json": {"token": "x"}}, NOT_A_FORM),
    ("/oauth/revoke", {"content": b"%%%", "headers": FORM}, "parameter token is missing"),
    ("/oauth/revoke", {"content": b"token=a&token=b", "headers": FORM}, "parameter token is repeated"),
    ("/session/login", {"json": {"username": "alice", "password": "alice-password"}}, NOT_A_FORM),
    ("/session/login", {"data": {"username": "alice"}}, "parameter password is missing"),
])
def test_malformed_revocation_and_login_forms_are_refused(client, path, request_kwargs, description):
    assert_refused(client.post(path, **request_kwargs), 400, "invalid_request", description)


@pytest.mark.parametrize(("body", "description"), [
    (b'{"seconds": "soon"}', "seconds: Input should be a valid number"),
    (b'{"seconds": 1e309}', "seconds: Input should be a finite number"),
    (b'{"seconds": "NaN"}', "seconds: Input should be a valid number"),
    (b'{"seconds": false}', "seconds: Input should be a valid number"),
    (b'{"seconds": 1e12}', "seconds: Input should be less than or equal to 3153600000"),
    (b'{"seconds": null}', "seconds: Input should be a valid number"),
    (b'{"seconds": 1, "minutes": 2}', "minutes: Extra inputs are not permitted"),
    (b"{}", "seconds: Field required"),
    (b"", "request: Field required"),
    (b"[]", "request: Input should be a valid dictionary or object to extract fields from"),
], ids=["string", "overflowing", "nan-string", "false", "over-a-century", "null", "extra-field", "empty-object",
        "empty-body", "array"])
def test_malformed_clock_advance_is_refused(client, lab, body, description):
    r = client.post("/lab/clock/advance", content=body, headers={"Content-Type": "application/json"})
    assert_refused(r, 400, "invalid_request", description)
    assert lab.clock.state() == {"now": T0, "iso": "2030-01-01T09:00:00Z", "frozen": True}


@pytest.mark.parametrize("seconds", [2300000000, -1900000000], ids=["past-2100", "before-1970"])
def test_a_clock_step_out_of_range_is_a_conflict(client, lab, seconds):
    # A well-formed step, refused because of where the clock is now: 409, not 400.
    r = client.post("/lab/clock/advance", json={"seconds": seconds})
    assert_refused(r, 409, "conflict", "the lab clock runs between 1970 and 2100")
    assert lab.clock.now() == T0


NOT_AN_INSTANT = "at: Value error, expected Unix seconds or an ISO 8601 timestamp"
OUT_OF_RANGE = "at: Value error, the lab clock runs between 1970 and 2100"
NEITHER = "at.str: Input should be a valid string; at.float: Input should be a valid number"


@pytest.mark.parametrize(("body", "description"), [
    ({"at": "garbage"}, NOT_AN_INSTANT),
    ({"at": "2030-13-01"}, NOT_AN_INSTANT),
    ({"at": "1e999"}, NOT_AN_INSTANT),  # Unix seconds are a number, not a string
    ({"at": "NaN"}, NOT_AN_INSTANT),
    ({"at": -1}, OUT_OF_RANGE),
    ({"at": 5e9}, OUT_OF_RANGE),
    ({"at": "9999-12-31T23:59:59-23:59"}, OUT_OF_RANGE),
    ({"at": "0001-01-01T00:00:00+01:00"}, OUT_OF_RANGE),
    ({"at": True}, NEITHER),
    ({"at": None}, NEITHER),
    ({"at": [1]}, NEITHER),
    ({"at": "2030-01-01T09:00:00Z", "frozen": "perhaps"},
     "frozen: Input should be a valid boolean"),
    ({}, "at: Field required"),
], ids=["garbage", "month-13", "overflowing-string", "nan-string", "before-1970", "after-2100", "year-10000",
        "year-0", "true", "null", "list", "frozen-not-a-bool", "no-at"])
def test_malformed_clock_set_is_refused(client, lab, body, description):
    assert_refused(client.post("/lab/clock/set", json=body), 400, "invalid_request", description)
    assert lab.clock.now() == T0


@pytest.mark.parametrize(("method", "path", "status", "code", "description"), [
    ("GET", "/lab/audit?since=abc", 400, "invalid_request",
     "since: Input should be a valid integer, unable to parse string as an integer"),
    ("GET", "/lab/store/passwords", 404, "not_found", "tables: " + ", ".join(TABLES)),
    ("GET", "/no/such/route", 404, "not_found", "Not Found"),
    ("DELETE", "/api/me", 405, "method_not_allowed", "Method Not Allowed"),
    ("GET", "/oauth/token", 405, "method_not_allowed", "Method Not Allowed"),
])
def test_framework_errors_use_the_same_shape(client, method, path, status, code, description):
    assert_refused(client.request(method, path), status, code, description)
