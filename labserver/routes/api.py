"""The protected resources: what an access token opens, checked without touching the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from labserver.routes.deps import BearerDep, require_role
from labserver.tokens import AccessToken

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/hello")
async def hello() -> dict:
    """A public route: no credentials needed (the baseline of the benchmarks)."""
    return {"message": "hello, anyone"}


@router.get("/me")
async def me(access: BearerDep) -> dict:
    """Who the access token says you are; the server trusts the signed claims and reads nothing."""
    claims = access.claims
    return {"username": access.username, "roles": access.roles, "sub": claims["sub"], "exp": claims["exp"]}


@router.get("/admin")
async def admin_area(access: Annotated[AccessToken, Depends(require_role("admin"))]) -> dict:
    """A route for admins only: the role comes from the token, so it is as fresh as the token."""
    return {"message": "welcome to the admin area", "username": access.username}
