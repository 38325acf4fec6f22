"""The lab's own web page (/app/): served offline by the lab server, only where the lab controls are."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from conftest import T0
from labserver import Settings, create_app
from labserver.web.routes.page import STATIC


def test_the_page_and_its_files_are_served_by_the_lab_server():
    client = TestClient(create_app(Settings(frozen_at=T0)))
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
