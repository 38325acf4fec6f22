"""The lab's own web page (/app/): served offline by the lab server, only where the lab controls are."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from conftest import T0, make_client
from helpers import error
from labserver import Settings, create_app
from labserver.web.routes.page import POLICY, STATIC

SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer",
                    "cache-control": "no-store"}


def test_the_page_and_its_files_are_served_by_the_lab_server():
    client = make_client()
    r = client.get("/app/")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert "DELIBERATELY VULNERABLE" in r.text
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        r = client.get(f"/app/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        assert r.headers["cache-control"] == "no-store"
    assert client.get("/app", follow_redirects=False).headers["location"] == "/app/"
    r = client.get("/app/server.py")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert client.get("/app/..%2Fapp.py").status_code == 404


def test_the_page_loads_nothing_from_elsewhere():
    """Offline: every src and href of the page is a path on the lab server itself."""
    page = (STATIC / "index.html").read_text()
    references = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert references and all(ref.startswith("/app/") for ref in references)
    assert "http" not in (STATIC / "app.js").read_text().replace("http:\\/\\/", "")


def test_the_page_is_mounted_with_the_lab_controls_only_and_not_in_the_api_schema():
    client = TestClient(create_app(Settings(frozen_at=T0, lab_controls=False)))
    assert client.get("/app/").status_code == 404
    schema = TestClient(create_app(Settings(frozen_at=T0))).get("/openapi.json").json()
    assert not [path for path in schema["paths"] if path.startswith("/app")]


def test_the_injection_is_limited_to_loopback_script_addresses():
    script = (STATIC / "app.js").read_text()
    assert 'DELIBERATELY VULNERABLE (lab page "inject")' in script
    assert r"/^http:\/\/(127\.0\.0\.1|localhost):\d+\//" in script


def test_every_answer_of_the_page_carries_its_policy_nosniff_and_no_framing():
    client = make_client()
    assert POLICY == ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
                      "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    for path in ("/app/", "/app/app.js", "/app/app.css"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert {k: r.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS, path
        assert r.headers["content-security-policy"] == POLICY, path


def test_the_vulnerable_mode_leaves_only_the_policy_out():
    client = make_client(page_csp=False)
    r = client.get("/app/")
    assert r.status_code == 200 and "content-security-policy" not in r.headers
    assert {k: r.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS


def test_a_rebound_name_cannot_load_the_page_which_answers_its_own_names():
    client = make_client()
    rebound = client.get("/app/", headers={"Host": "rebind.attacker.example:8000"})
    assert rebound.status_code == 403
    assert rebound.json() == error("forbidden", "this server answers only at 127.0.0.1:8000, localhost:8000 or "
                                                "[::1]:8000")
    for host in ("127.0.0.1:8000", "localhost:8000", "localhost:9999"):  # another port: a relay on this machine
        assert client.get("/app/", headers={"Host": host}).status_code == 200, host
