"""The OpenAPI document, made to tell the truth: every error an operation can answer, and how to authenticate.

FastAPI documents each operation's success and a 422 validation error this server never sends (it answers
400 in the RFC 6749 §5.2 shape: labserver.web.errors). This module replaces that with the errors each operation
really answers, each with the one error body and the headers that come with it (WWW-Authenticate on 401,
RFC 6750 §3; Retry-After on 429, RFC 6585 §4), and declares the security schemes: bearer tokens from the
password grant, and the session cookie. A client generated from the document can then trust it.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from labserver.web.routes import authorize

ERROR_BODY = {
    "type": "object", "required": ["error", "error_description"],
    "properties": {"error": {"type": "string", "description": "an error code (RFC 6749 §5.2, RFC 6750 §3.1)"},
                   "error_description": {"type": "string", "description": "what is wrong, in words"}},
}

ERRORS = {
    400: "invalid_request: a parameter or the body is missing, malformed or repeated; at the token endpoint also "
         "invalid_grant, invalid_scope, unsupported_grant_type (RFC 6749 §5.2); unsupported_token_type at "
         "revocation (RFC 7009 §2.2.1)",
    401: "no valid credentials: missing_token, invalid_token (RFC 6750 §3.1), invalid_client, "
         "invalid_credentials, login_required, or invalid_lab_secret (a lab control without the lab's secret)",
    403: "forbidden: insufficient_scope (the role is missing, RFC 6750 §3.1), or a request from another site's "
         "page or for another host name",
    404: "not_found: no such user or table",
    409: "conflict: the change would leave no enabled admin, or move the lab clock out of 1970-2100",
    413: "request_too_large: the body is over 64 KiB",
    429: "too_many_requests: too many failed logins for this account or from this address (RFC 6585 §4); on a "
         "lab, also a check's token-request budget that is spent (labserver.control.referee)",
}
HEADERS = {
    401: {"WWW-Authenticate": "the challenge: Bearer (RFC 6750 §3), Basic (client), Cookie (session) or "
                              "Lab-Secret (lab controls)"},
    429: {"Retry-After": "seconds to wait before the next login attempt"},
}

BEARER, ADMIN = (400, 401), (400, 401, 403)
# Error statuses per operation. Every /lab/ operation may also answer 401 (no lab secret) and 403 (another
# host, another site).
STATUSES = {
    ("get", "/api/me"): BEARER,
    ("get", "/api/admin"): ADMIN,
    ("get", "/admin/users"): ADMIN,
    ("patch", "/admin/users/{username}"): (*ADMIN, 404, 409, 413),
    ("post", "/session/login"): (400, 401, 403, 413, 429),
    ("get", "/session/me"): (401,),
    ("post", "/oauth/token"): (400, 401, 403, 413, 429),
    ("post", "/session/logout"): (403,),
    ("post", "/oauth/revoke"): (400, 401, 403, 413),
    ("get", "/oauth/authorize"): (403,),
    ("post", "/oauth/authorize"): (403, 413),
    ("get", "/lab/audit"): (400,),
    ("get", "/lab/store/{table}"): (404,),
    ("post", "/lab/clock/advance"): (400, 409, 413),
    ("post", "/lab/clock/set"): (400, 413),
    ("put", "/lab/flaws"): (400, 409, 413),
    ("get", "/lab/challenge"): (404,),
    ("post", "/lab/challenge"): (400, 404, 413),
}
SECURITY = {
    ("get", "/api/me"): "bearer", ("get", "/api/admin"): "bearer", ("get", "/admin/users"): "bearer",
    ("patch", "/admin/users/{username}"): "bearer", ("get", "/session/me"): "session",
}


def install_openapi(app: FastAPI, cookie_name: str, clients=None) -> None:
    """Serve the corrected document at /openapi.json (built once, on first request); ``clients`` are the
    registered clients of the code flow, whose ids and redirect URIs the authorization endpoint accepts."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            app.openapi_schema = corrected(document, cookie_name)
            if clients is not None:
                authorize.document(app.openapi_schema["paths"]["/oauth/authorize"], clients)
        return app.openapi_schema

    app.openapi = openapi


def corrected(document: dict, cookie_name: str) -> dict:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_BODY
    components["securitySchemes"] = {
        "bearer": {"type": "oauth2", "description": "an access token from the token endpoint (RFC 6750)",
                   "flows": {"password": {"tokenUrl": "/oauth/token", "scopes": {}}}},
        "session": {"type": "apiKey", "in": "cookie", "name": cookie_name,
                    "description": "the session cookie set by /session/login"},
        "labSecret": {"type": "apiKey", "in": "header", "name": "Lab-Secret",
                      "description": "the lab's secret: held by the program that started it, or in the file its "
                                     "banner names"},
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            statuses = set(STATUSES.get((method, path), ()))
            if path.startswith("/lab/"):
                statuses |= {401, 403}
                operation["security"] = [{"labSecret": []}]
            for status in sorted(statuses):
                responses[str(status)] = error_response(status)
            if (method, path) in SECURITY:
                operation["security"] = [{SECURITY[method, path]: []}]
            if method == "post" and path == "/oauth/revoke":
                # RFC 7009 §2.2: success is an empty 200.
                responses["200"] = {"description": "the token is revoked, or was invalid already: nothing to say"}
    return document


def error_response(status: int) -> dict:
    response = {"description": ERRORS[status],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if status in HEADERS:
        response["headers"] = {name: {"description": text, "required": True, "schema": {"type": "string"}}
                               for name, text in HEADERS[status].items()}
    return response
