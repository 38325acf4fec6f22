"""Errors of the lab server, each mapped to its standard response shape in one place.

Every error answers ``{"error": code, "error_description": text}``: the shape of RFC 6749 §5.2,
used for bearer (RFC 6750 §3.1) and session errors too, so a client needs one parser.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

REALM = "labserver"


class LabError(Exception):
    """Base of every error the server answers on purpose."""

    status = 400
    error = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def headers(self) -> dict[str, str]:
        return {}


# --- Token endpoint errors (RFC 6749 §5.2, RFC 7009 §2.2.1) -------------------------------------

class OAuthError(LabError):
    """An error answered by the token or revocation endpoint; never cached."""

    def headers(self) -> dict[str, str]:
        return {"Cache-Control": "no-store", "Pragma": "no-cache"}


class InvalidRequest(OAuthError):
    """The request is missing a parameter, repeats one, or is otherwise malformed."""


class InvalidClient(OAuthError):
    """The client is unknown."""

    status = 401
    error = "invalid_client"

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "WWW-Authenticate": f'Basic realm="{REALM}"'}


class InvalidGrant(OAuthError):
    """The password, or the refresh token, is wrong, expired, used or revoked."""

    error = "invalid_grant"


class InvalidScope(OAuthError):
    """The requested scope is not one this server issues (RFC 6749 §5.2)."""

    error = "invalid_scope"


class UnsupportedGrantType(OAuthError):
    """The grant_type is not one this server offers."""

    error = "unsupported_grant_type"


class UnsupportedTokenType(OAuthError):
    """The server cannot revoke this kind of token (RFC 7009 §2.2.1)."""

    error = "unsupported_token_type"


class TooManyFailedLogins(LabError):
    """Too many failed logins for this account name or from this address: wait (RFC 6585 §4)."""

    status = 429
    error = "too_many_requests"

    def __init__(self, retry_after: int, counted: str) -> None:
        unit = "second" if retry_after == 1 else "seconds"
        super().__init__(f"too many failed logins ({counted}): try again in {retry_after} {unit}")
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after), "Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenBudgetSpent(LabError):
    """LAB ONLY: the token-request budget a check set (labserver.control.referee) is spent."""

    status = 429
    error = "too_many_requests"

    def headers(self) -> dict[str, str]:
        return {"Cache-Control": "no-store", "Pragma": "no-cache"}


# --- Protected resource errors (RFC 6750 §3) ----------------------------------------------------

class BearerError(LabError):
    """An error of a route protected by a bearer token; says so in WWW-Authenticate."""

    def headers(self) -> dict[str, str]:
        challenge = (f'Bearer realm="{REALM}", error="{self.error}", '
                     f'error_description="{_quote(self.description)}"')
        return {"WWW-Authenticate": challenge}


class MissingToken(BearerError):
    """No credentials at all: a bare challenge without an error code (RFC 6750 §3.1)."""

    status = 401
    error = "missing_token"  # body only; the challenge carries no error code

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer realm="{REALM}"'}


class MalformedAuthorization(BearerError):
    """The Authorization header is not of the form "Bearer <token>"."""

    error = "invalid_request"


class InvalidToken(BearerError):
    """The access token is malformed, forged, expired, revoked or meant for someone else."""

    status = 401
    error = "invalid_token"


class InsufficientScope(BearerError):
    """The token is valid but its holder lacks the role the route needs."""

    status = 403
    error = "insufficient_scope"


# --- Cookie session errors ----------------------------------------------------------------------

class LoginRequired(LabError):
    """No valid session cookie."""

    status = 401
    error = "login_required"

    def headers(self) -> dict[str, str]:
        # There is no registered scheme for cookies; this names what the client is missing.
        return {"WWW-Authenticate": f'Cookie realm="{REALM}"'}


class InvalidCredentials(LabError):
    """Wrong username or password at the session login form."""

    status = 401
    error = "invalid_credentials"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Cookie realm="{REALM}"', "Cache-Control": "no-store"}


class Forbidden(LabError):
    """Not allowed: the user lacks the role the route needs, or the request is not for this server."""

    status = 403
    error = "forbidden"


class CrossSiteRequest(Forbidden):
    """A browser sent a state-changing request from another site's page (CSRF)."""

    def headers(self) -> dict[str, str]:
        return {"Cache-Control": "no-store"}


class LabSecretRequired(LabError):
    """A lab control was asked for without this lab's secret, or with another one."""

    status = 401
    error = "invalid_lab_secret"

    def headers(self) -> dict[str, str]:
        # No registered scheme either: this names the header the client must send.
        return {"WWW-Authenticate": f'Lab-Secret realm="{REALM}"', "Cache-Control": "no-store"}


class Conflict(LabError):
    """The change would leave the server in a state nobody can undo (no admin left)."""

    status = 409
    error = "conflict"


class NotFound(LabError):
    status = 404
    error = "not_found"


def _quote(text: str) -> str:
    # RFC 6750 §3: error_description is a quoted-string of printable ASCII without " and \.
    return "".join(c for c in text if 0x20 <= ord(c) < 0x7F and c not in '"\\')


def _body(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description}


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error, ours and the framework's, in the one standard shape."""

    @app.exception_handler(LabError)
    async def lab_error(_request: Request, exc: LabError) -> JSONResponse:
        return JSONResponse(_body(exc.error, exc.description), exc.status, headers=exc.headers())

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "form"))
            problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
        return JSONResponse(_body("invalid_request", "; ".join(problems)), 400,
                            headers={"Cache-Control": "no-store"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large",
                 415: "unsupported_media_type"}
        error = codes.get(exc.status_code, "invalid_request")
        headers = exc.headers
        if exc.status_code == 405:
            # Starlette names only the methods of the first route matching the path: name them all (RFC 9110 §15.5.6).
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return JSONResponse(_body(error, str(exc.detail)), exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    # The API document lists every operation of every path: the same answer a client reads there.
    methods = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if compile_path(template)[0].match(request.url.path):
            methods |= {method.upper() for method in operations}
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))
