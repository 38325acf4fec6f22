"""The protected resources: what an access token opens, checked without touching the store."""

from __future__ import annotations

from fastapi import APIRouter, Request

from labserver.web.routes.deps import authenticate_off_loop

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/hello")
async def hello() -> dict:
    """A public route: no credentials needed (the baseline of the benchmarks)."""
    return {"message": "hello, anyone"}


@router.get("/me")
async def me(request: Request) -> dict:
    """Who the access token says you are; the server trusts the signed claims and reads nothing."""
    access = await authenticate_off_loop(request)
    claims = access.claims
    return {"username": access.username, "roles": access.roles, "sub": claims["sub"], "exp": claims["exp"]}


@router.get("/admin")
async def admin_area(request: Request) -> dict:
    """A route for admins only: the role comes from the token, so it is as fresh as the token."""
    access = await authenticate_off_loop(request, role="admin")
    return {"message": "welcome to the admin area", "username": access.username}
