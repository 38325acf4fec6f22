"""Discovery: the public signing keys (RFC 7517 JWK Set) and the server's metadata (RFC 8414)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from labserver.oauth.pkce import methods
from labserver.web.routes.deps import lab_of

router = APIRouter(prefix="/.well-known", tags=["discovery"])


@router.get("/jwks.json")
async def jwks(request: Request) -> dict:
    """The keys an API needs to verify our access tokens by itself; empty for HS256 (a shared secret)."""
    lab = lab_of(request)
    return lab.keys.jwks(lab.now())


@router.get("/oauth-authorization-server")
async def metadata(request: Request) -> dict:
    """Where the endpoints are and what they support (RFC 8414 §2).

    The endpoints are given where this request reached the server (its Host was checked on the way in), so a
    client can follow them. The issuer is the one in the tokens: the server's URL unless it was given a name.
    A lesson's lab is given a name, so its tokens are the same on every run; RFC 8414 §3.3 asks a real server
    for an issuer equal to the URL its metadata is served under, and lesson 10 says so.
    """
    lab = lab_of(request)
    here = str(request.base_url).rstrip("/")
    return {
        "issuer": lab.settings.issuer_id,
        "authorization_endpoint": f"{here}/oauth/authorize",
        "token_endpoint": f"{here}/oauth/token",
        "revocation_endpoint": f"{here}/oauth/revoke",
        "jwks_uri": f"{here}/.well-known/jwks.json",
        "grant_types_supported": ["authorization_code", "password", "refresh_token"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        # RFC 7636 §6.2 (RFC 8414): what PKCE methods the authorization endpoint accepts.
        "code_challenge_methods_supported": methods(plain_allowed=lab.flaws.on("pkce-plain")),
        "authorization_response_iss_parameter_supported": True,  # RFC 9207
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
    }
