"""The OpenAPI document tells the truth: schemathesis with all of its checks, authenticated, finds nothing.

Its checks go beyond "no server error": every status answered is documented (with its body and headers),
405 answers list every method of the path in Allow, schema-valid requests are accepted and schema-violating
ones refused. The run is bounded (a few examples per operation) and seeded, against a real server process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import labserver
from conftest import T0
from helpers import error

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = """
[auth.dynamic.openapi.bearer]
path = "/oauth/token"
payload = {{ grant_type = "password", username = "admin", password = "admin-password" }}
payload_content_type = "application/x-www-form-urlencoded"
extract_selector = "/access_token"

[auth.openapi.session]
api_key = "{cookie}"
"""


def test_schemathesis_with_all_checks_finds_no_mismatch(tmp_path):
    with labserver.start(frozen_at=T0) as lab:
        cookie = lab.http.post(lab.url + "/session/login",
                               data={"username": "bob", "password": "bob-password"}).cookies["session"]
        config = tmp_path / "schemathesis.toml"
        config.write_text(CONFIG.format(cookie=cookie))
        run = subprocess.run(
            [str(SCHEMATHESIS), "--config-file", str(config), "run", lab.url + "/openapi.json", "--checks", "all",
             "--max-examples", "5", "--seed", "1", "--no-color"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failures" not in run.stdout.lower()


def test_every_error_is_documented_with_its_body_and_headers(client):
    document = client.get("/openapi.json").json()
    token = document["paths"]["/oauth/token"]["post"]["responses"]
    assert sorted(token) == ["200", "400", "401", "403", "413", "429"]
    assert token["429"]["headers"]["Retry-After"]["required"] is True
    assert token["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert token["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert document["components"]["schemas"]["Error"]["required"] == ["error", "error_description"]
    assert sorted(document["paths"]["/api/admin"]["get"]["responses"]) == ["200", "400", "401", "403"]
    assert document["paths"]["/api/me"]["get"]["security"] == [{"bearer": []}]
    assert "422" not in str(document) and "HTTPValidationError" not in str(document)
    for path, operations in document["paths"].items():
        if path.startswith("/lab/"):
            assert all({"401", "403"} <= set(op["responses"]) for op in operations.values()), path


def test_the_schema_says_what_the_server_checks(client):
    document = client.get("/openapi.json").json()
    revoke = document["paths"]["/oauth/revoke"]["post"]["requestBody"]["content"]
    assert revoke["application/x-www-form-urlencoded"]["schema"]["properties"]["token"]["minLength"] == 1
    r = client.post("/oauth/revoke", data={"token": ""})
    assert (r.status_code, r.json()) == (400, error("invalid_request", "parameter token is missing"))
    grants = document["paths"]["/oauth/token"]["post"]["requestBody"]["content"][
        "application/x-www-form-urlencoded"]["schema"]["oneOf"]
    assert [g["required"] for g in grants] == [["grant_type", "username", "password"], ["grant_type", "refresh_token"],
                                               ["grant_type", "code", "redirect_uri", "client_id"]]


def test_the_authorization_endpoint_is_documented_with_the_registered_clients_and_its_pages(client):
    document = client.get("/openapi.json").json()
    get = document["paths"]["/oauth/authorize"]["get"]
    schemas = {p["name"]: (p["required"], p["schema"]) for p in get["parameters"]}
    assert schemas["client_id"] == (True, {"type": "string", "enum": ["jwt-course"]})
    assert schemas["redirect_uri"] == (True, {"type": "string", "pattern": (
        r"^(http://127\.0\.0\.1(:[1-9][0-9]{0,4})?/callback|http://\[::1\](:[1-9][0-9]{0,4})?/callback)$")})
    assert sorted(get["responses"]) == ["200", "303", "400", "403"]
    assert get["responses"]["303"]["headers"]["Location"]["required"] is True
    post = document["paths"]["/oauth/authorize"]["post"]["responses"]
    assert sorted(post) == ["200", "303", "400", "403", "413", "429"]
    assert sorted(post["400"]["content"]) == ["application/json", "text/html"]


def test_a_405_names_every_method_of_the_path(client):
    for path, allowed in (("/lab/audit", "DELETE, GET, HEAD"), ("/lab/stats", "DELETE, GET, HEAD"),
                          ("/oauth/token", "POST")):
        r = client.put(path)
        assert r.status_code == 405, r.text
        assert r.json() == error("method_not_allowed", "Method Not Allowed")
        assert r.headers["allow"] == allowed


def test_unrecognized_parameters_are_ignored_even_repeated(client):
    # RFC 6749 §3.2: the server MUST ignore unrecognized request parameters.
    r = client.post("/oauth/revoke", content=b"x=1&x=2&token=abc", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    r = client.post("/oauth/revoke", content=b"token=a&token=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (r.status_code, r.json()) == (400, error("invalid_request", "parameter token is repeated"))
