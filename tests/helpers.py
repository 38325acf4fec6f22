"""Helpers shared by the lab server tests: forging tokens with the server's own key, reading them, logging in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
from starlette.testclient import TestClient

REALM = "labserver"


def b64url(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_json(value) -> str:
    return b64url(json.dumps(value, separators=(",", ":")))


def unb64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def claims_of(token: str) -> dict:
    """The payload of a JWT, read without checking anything."""
    return jwt.decode(token, options={"verify_signature": False})


def valid_claims(lab, **changes) -> dict:
    """Claims like the ones the server issues to alice now (by the lab clock), with ``changes`` applied."""
    now = int(lab.clock.now())
    claims = {"iss": lab.settings.issuer_id, "sub": "1", "aud": lab.settings.audience,
              "exp": now + int(lab.settings.access_ttl), "iat": now, "jti": "test-jti",
              "client_id": lab.settings.client_id, "username": "alice", "roles": ["user"]}
    claims.update(changes)
    return claims


def sign(lab, claims, **header) -> str:
    """Sign a payload with the server's active key, the way it signs its own tokens (``header`` overrides).

    ``claims`` may be any JSON value, or the payload's raw bytes; unlike jwt.encode, nothing is checked.
    """
    key = lab.keys.active
    payload = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    headers = {"typ": "at+jwt", "kid": key.kid, **header}
    return jwt.PyJWS().encode(payload, key.signing_key, algorithm=key.alg, headers=headers)


def forge(lab, **changes) -> str:
    """A correctly signed token with these claim changes; a change to ``None`` removes the claim."""
    claims = {k: v for k, v in valid_claims(lab, **changes).items() if v is not None}
    return sign(lab, claims)


def hs256(header: dict | str, payload: dict | str | bytes, secret: bytes) -> str:
    """An HS256 JWT assembled by hand: any header, any payload bytes, any secret (PyJWT refuses some)."""
    head = header if isinstance(header, str) else b64url_json(header)
    body = payload if isinstance(payload, str) else (
        b64url(payload) if isinstance(payload, bytes) else b64url_json(payload))
    signing_input = f"{head}.{body}".encode()
    return f"{head}.{body}.{b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error(code: str, description: str) -> dict[str, str]:
    """The one error body shape of the server (RFC 6749 §5.2)."""
    return {"error": code, "error_description": description}


def challenge(code: str, description: str) -> str:
    """The WWW-Authenticate value of a bearer error (RFC 6750 §3)."""
    return f'Bearer realm="{REALM}", error="{code}", error_description="{description}"'


def assert_invalid_token(response, description: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == error("invalid_token", description)
    assert response.headers["www-authenticate"] == challenge("invalid_token", description)


def session_login(client: TestClient, username: str = "alice", password: str | None = None):
    """POST the session login form; the client keeps the cookie it sets."""
    return client.post("/session/login", data={"username": username,
                                               "password": password or f"{username}-password"})


def audit_events(client: TestClient, *names: str) -> list[str]:
    """The names of the audit events so far, only those in ``names`` if given."""
    events = [e["event"] for e in client.get("/lab/audit").json()]
    return [e for e in events if e in names] if names else events
