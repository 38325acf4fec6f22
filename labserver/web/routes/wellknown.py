"""Discovery: the public signing keys (RFC 7517 JWK Set) and the server's metadata (RFC 8414)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from labserver.web.routes.deps import lab_of

router = APIRouter(prefix="/.well-known", tags=["discovery"])


@router.get("/jwks.json")
async def jwks(request: Request) -> dict:
    """The keys an API needs to verify our access tokens by itself; empty for HS256 (a shared secret)."""
    lab = lab_of(request)
    return lab.keys.jwks(lab.now())


@router.get("/oauth-authorization-server")
async def metadata(request: Request) -> dict:
    """Where the endpoints are and what they support (RFC 8414 §2)."""
    settings = lab_of(request).settings
    issuer = settings.issuer_id
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "grant_types_supported": ["password", "refresh_token"],
        "response_types_supported": [],  # no authorization endpoint: no response types
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
    }
