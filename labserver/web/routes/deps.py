"""Dependencies shared by routes: the lab, the bearer token and the roles it must carry."""

from __future__ import annotations

import re

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from labserver.lab import Lab
from labserver.tokens.access import AccessToken
from labserver.web.errors import InsufficientScope, InvalidToken, MalformedAuthorization, MissingToken

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def lab_of(request: Request) -> Lab:
    """Return the lab this request's app serves."""
    return request.app.state.lab


def authenticate(request: Request, role: str | None = None) -> AccessToken:
    """Read "Authorization: Bearer <token>" and verify the token (RFC 6750 §2.1); if ``role`` is given, require it.

    A plain call at the top of a route, not a FastAPI dependency: resolving a dependency costs about as much
    as verifying a remembered token, on every request (see benchmarks/README.md).
    """
    lab = lab_of(request)
    header = request.headers.get("authorization", "").strip()
    scheme, _, token = header.partition(" ")
    if not header or scheme.lower() != "bearer":
        raise MissingToken("this route needs an access token: Authorization: Bearer <token>")
    token = token.strip()
    if not _B64TOKEN.fullmatch(token):
        raise MalformedAuthorization("the Authorization header must be: Bearer <token>")
    now = lab.now()
    try:
        if lab.referee.refuse_access:  # LAB ONLY (labserver.control.referee): a check asked for it
            raise InvalidToken("this check has the lab refuse every access token, new ones too")
        access = lab.tokens.verify(token, now)
        if lab.denylist.enabled and lab.denylist.contains(access.claims["jti"]):
            raise InvalidToken("token has been revoked")
    except InvalidToken as exc:
        lab.audit.record("verification_failed", reason=exc.description)
        raise
    if role is not None and role not in access.roles:
        raise InsufficientScope(f"this route needs the {role} role")
    return access


async def authenticate_off_loop(request: Request, role: str | None = None) -> AccessToken:
    """``authenticate`` for async routes: in a worker thread while a flaw makes verification wait on I/O.

    The secure server verifies in microseconds, on the event loop. The lab flaws "jku-header" (an HTTP fetch)
    and "kid-sql" / "kid-path" (a query, a file) can wait; on the loop they would stall every other request.
    """
    try:
        if lab_of(request).tokens.may_block:
            return await run_in_threadpool(authenticate, request, role)
        return authenticate(request, role)
    except InvalidToken:
        await lab_of(request).referee.after_refusal()  # LAB ONLY: a race a check holds (labserver.control.referee)
        raise


def require_role(role: str):
    """Return a dependency that lets through only tokens carrying ``role``.

    For routes that take a body or parameters: FastAPI runs dependencies before it validates those, so a
    request without a valid token is answered 401 (or 403), not told by a 422 what the body should be.
    """

    async def check(request: Request) -> AccessToken:
        return await authenticate_off_loop(request, role)

    return check
