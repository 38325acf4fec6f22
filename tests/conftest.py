"""Shared fixtures: an in-process app with a frozen lab clock, login helpers, check servers stopped per module."""

from __future__ import annotations

import os

import pytest
from starlette.testclient import TestClient

from coursekit.labtools.browser import find_browser
from coursekit.labtools.lab import stop_fresh_labs
from labserver import Settings, create_app

# 2030-01-01T09:00:00Z: every in-process test starts at this lab time.
T0 = 1893488400.0


class Auth:
    """Log in and refresh through the real endpoints, the way a client would."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def token(self, username: str = "alice", password: str | None = None) -> dict:
        """Return the token endpoint's JSON for a password login (asserting it succeeded)."""
        r = self.client.post("/oauth/token", data={"grant_type": "password", "username": username,
                                                   "password": password or f"{username}-password"})
        assert r.status_code == 200, r.text
        return r.json()

    def refresh(self, refresh_token: str):
        return self.client.post("/oauth/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": refresh_token})

    def get(self, path: str, access_token: str):
        return self.client.get(path, headers={"Authorization": f"Bearer {access_token}"})


def make_client(**settings) -> TestClient:
    settings.setdefault("frozen_at", T0)
    app = create_app(Settings(**settings))
    # Addressed as a browser or requests would address the server (the lab controls check the Host), by the
    # lab's owner (who holds its secret).
    return TestClient(app, base_url=app.state.lab.settings.base_url,
                      headers={"Lab-Secret": app.state.lab.lab_secret})


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Chromium to run browser tests in: a skip where there is none, a failure under CI (which must have one)."""
    executable, reason = find_browser()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and no browser can be used: {reason}")
        pytest.skip(reason)
    return executable


@pytest.fixture
def client() -> TestClient:
    with make_client() as c:
        yield c


@pytest.fixture
def lab(client):
    """The server-side objects behind ``client`` (clock, store, audit log, ...)."""
    return client.app.state.lab


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


@pytest.fixture(scope="module", autouse=True)
def _stop_check_servers():
    """After each test module, stop the lab servers that exercise checks started (``coursekit.labtools.lab.fresh_lab``)."""
    yield
    stop_fresh_labs()
