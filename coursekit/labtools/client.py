"""Small client helpers the lessons and their checks share: log in, send a bearer token, read a token's claims.

    tokens = log_in(lab, "alice")                  # the token response: access_token, refresh_token, ...
    api(lab, "/api/me", tokens["access_token"])     # prints: 200 {'username': 'alice', ...}
    lab_time(claims(tokens["access_token"])["exp"])  # '09:30:00'

Each helper is a few lines of ``requests``; open this file to see exactly what a lesson's one-liner sends.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import requests

from coursekit.pictures.tokenview import decode_segment
from labserver import LabServer

__all__ = ["log_in", "bearer", "claims", "lab_time", "api", "http_session"]


def http_session() -> requests.Session:
    """A requests session that talks to the lab directly: no proxies from the environment, no cookies from elsewhere."""
    session = requests.Session()
    session.trust_env = False  # loopback only: proxy settings and CA bundles from the environment do not apply
    return session


def log_in(server: LabServer, username: str, password: str | None = None) -> dict:
    """Log in with the password grant at the server's token endpoint; return its JSON answer (the token response).

    ``password`` defaults to the demo users' ``<username>-password``. A refused login returns the error
    answer (``{"error": ..., "error_description": ...}``) rather than raising, so a lesson can print it.
    """
    r = server.http.post(server.url + "/oauth/token", timeout=10, data={
        "grant_type": "password", "username": username, "password": password or f"{username}-password"})
    return r.json()


def bearer(token: str) -> dict:
    """The request header that presents an access token (RFC 6750 §2.1): ``{"Authorization": "Bearer <token>"}``."""
    return {"Authorization": f"Bearer {token}"}


def claims(token: str) -> dict:
    """A JWT's payload as a dict, read WITHOUT verifying the signature: fine for looking, never for trusting."""
    return json.loads(decode_segment(token.split(".")[1]))


def lab_time(seconds: float) -> str:
    """A Unix time (such as a token's ``exp``) as the UTC time of day, ``"HH:MM:SS"``."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%H:%M:%S")


def api(server: LabServer, path: str, token: str) -> None:
    """GET ``path`` on the server with the token as a bearer token; print the status code and the JSON answer."""
    r = server.http.get(server.url + path, headers=bearer(token), timeout=10)
    print(r.status_code, r.json())
