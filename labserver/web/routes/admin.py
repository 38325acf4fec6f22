"""Admin endpoints: list users, change a role, disable an account. Bearer tokens with the admin role."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, StrictBool

from labserver.tokens.access import AccessToken
from labserver.web.errors import NotFound
from labserver.web.routes.deps import lab_of, require_role

router = APIRouter(prefix="/admin", tags=["admin"])
AdminDep = Annotated[AccessToken, Depends(require_role("admin"))]


class UserChange(BaseModel):
    """What an admin may change about a user; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "admin"] | None = None
    disabled: StrictBool | None = None  # "yes" or 1 is an error, not true


@router.get("/users")
def list_users(request: Request, _admin: AdminDep) -> list[dict]:
    return [u.public() for u in lab_of(request).users.all()]


@router.patch("/users/{username}")
def change_user(username: str, change: UserChange, request: Request, admin: AdminDep) -> dict:
    """Change a role or disable an account. Sessions see it at once; access tokens only when reissued.

    Disabling ends the user's refresh-token families at once (with the denylist on, their access tokens too).
    The last enabled admin cannot be disabled or demoted (409).
    """
    lab = lab_of(request)
    user = lab.users.by_name(username)
    if user is None:
        raise NotFound(f"no user named {username}")
    updated = lab.users.update(user, role=change.role, disabled=change.disabled)
    if change.role is not None and change.role != user.role:
        lab.audit.record("role_changed", username=username, role=change.role, by=admin.username)
    if change.disabled is not None and change.disabled != user.disabled:
        lab.audit.record("user_disabled" if change.disabled else "user_enabled", username=username,
                         by=admin.username)
        if change.disabled:
            lab.refresh.end_logins_of(user, lab.now())
    return updated.public()
