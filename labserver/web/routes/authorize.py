"""The authorization endpoint (RFC 6749 §4.1.1, §4.1.2 with RFC 7636 PKCE): the lab's login page, and the code.

GET shows the login page for a valid authorization request; POST checks the password and sends the
browser back to the client's redirect URI with a one-time code, ``state`` unchanged and ``iss`` (RFC 9207).
What is wrong with a request is answered as RFC 6749 §4.1.2.1 says: if the client or its redirect URI
cannot be trusted, on the page itself (redirecting there would hand an error, or worse, to whoever wrote
the link); anything else as ``error`` and ``error_description`` sent to the redirect URI, with ``state``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from labserver.oauth.clients import is_loopback
from labserver.oauth.pkce import PKCEError, check_challenge
from labserver.web.errors import TooManyFailedLogins
from labserver.web.loginpage import error_page, login_page
from labserver.web.routes.deps import lab_of
from labserver.web.routes.forms import read_form
from labserver.web.routes.sameorigin import check_host, check_same_origin
from labserver.web.routes.sessions import authenticate

router = APIRouter(prefix="/oauth", tags=["oauth"])

REQUEST_PARAMETERS = ("response_type", "client_id", "redirect_uri", "state", "code_challenge",
                      "code_challenge_method", "scope")
LOGIN_PARAMETERS = frozenset({*REQUEST_PARAMETERS, "username", "password"})


class PageError(Exception):
    """An error shown on the page: the redirect URI cannot be trusted with it."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


class RedirectError(PageError):
    """An error sent to the client's redirect URI (checked already), with the request's state."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None) -> None:
        super().__init__(error, description)
        self.redirect_uri, self.state = redirect_uri, state


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    state: str | None
    challenge: str | None
    method: str | None
    given: dict[str, str]  # the request's parameters, carried through the login form


def read_request(request: Request, items: list[tuple[str, str]]) -> AuthorizationRequest:
    """Check an authorization request's parameters; raise PageError or RedirectError if it cannot be served."""
    lab = lab_of(request)
    given: dict[str, str] = {}
    repeated = []
    for name, value in items:
        if name in REQUEST_PARAMETERS:
            if name in given:
                repeated.append(name)
            given[name] = value
    for name in ("client_id", "redirect_uri"):
        if name in repeated:
            raise PageError("invalid_request", f"parameter {name} is repeated")
        if not given.get(name):
            raise PageError("invalid_request", f"parameter {name} is missing")
    client = lab.clients.get(given["client_id"])
    if client is None:
        raise PageError("invalid_client", f"unknown client {given['client_id']!r}")
    redirect_uri = given["redirect_uri"]
    if not lab.clients.redirect_allowed(client, redirect_uri, loose=lab.flaws.on("redirect-prefix")):
        raise PageError("invalid_request", f"redirect_uri is not registered for client {client.client_id} "
                                           f"(registered: {', '.join(client.redirect_uris)}; exact match, any "
                                           f"port on loopback)")
    # From here on the redirect URI is the client's own: errors go back to it, with the state.
    state = given.get("state") if "state" not in repeated else None

    def back(error: str, description: str) -> RedirectError:
        return RedirectError(error, description, redirect_uri, state)

    if repeated:
        raise back("invalid_request", f"parameter {repeated[0]} is repeated")
    response_type = given.get("response_type")
    if not response_type:
        raise back("invalid_request", "parameter response_type is missing")
    if response_type != "code":
        raise back("unsupported_response_type", "response_type must be code (the authorization code flow)")
    if given.get("scope"):
        raise back("invalid_scope", "this server issues no scopes: leave scope out")
    try:
        challenge, method = check_challenge(given.get("code_challenge"), given.get("code_challenge_method"),
                                            required=not lab.flaws.on("no-pkce"),
                                            plain_allowed=lab.flaws.on("pkce-plain"))
    except PKCEError as exc:
        raise back("invalid_request", str(exc)) from None
    return AuthorizationRequest(client.client_id, redirect_uri, state, challenge, method, given)


def _pattern(uri: str) -> str:
    if is_loopback(uri):  # any port (RFC 8252 §7.3)
        scheme, _, rest = uri.partition("://")
        host, slash, tail = rest.partition("/")
        return re.escape(f"{scheme}://{host}") + "(:[1-9][0-9]{0,4})?" + re.escape(slash + tail)
    return re.escape(uri)


def back_to_client(request: Request, redirect_uri: str, parameters: dict[str, str | None]) -> RedirectResponse:
    """303 to the redirect URI with these parameters added to its query (RFC 6749 §3.1.2 keeps its own query)."""
    parameters = {**{k: v for k, v in parameters.items() if v is not None},
                  "iss": lab_of(request).settings.issuer_id}  # RFC 9207: says which server answered
    separator = "&" if "?" in redirect_uri else "?"
    # 303: the browser follows with a GET, never re-posting the password (RFC 9700 §4.12).
    return RedirectResponse(redirect_uri + separator + urlencode(parameters), status_code=303,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def refusal(request: Request, exc: PageError) -> Response:
    lab_of(request).audit.record("authorization_refused", error=exc.error, reason=exc.description)
    if isinstance(exc, RedirectError):
        return back_to_client(request, exc.redirect_uri,
                              {"error": exc.error, "error_description": exc.description, "state": exc.state})
    return error_page(exc.error, exc.description)


PAGE = {"text/html": {"schema": {"type": "string"}}}
AUTHORIZE_QUERY = {"parameters": [
    {"name": name, "in": "query", "required": name in ("client_id", "redirect_uri"), "schema": {"type": "string"}}
    for name in REQUEST_PARAMETERS]}
REDIRECT = {"description": "back to the client: its redirect URI with code, state and iss, or error, "
                           "error_description, state and iss (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207)",
            "headers": {"Location": {"required": True, "schema": {"type": "string"}}}}
GET_RESPONSES = {"200": {"description": "the login page", "content": PAGE}, "303": REDIRECT,
                 "400": {"description": "the client or its redirect URI is missing, unknown or not registered: "
                                        "the error is shown on the page, nothing is redirected",
                         "content": PAGE}}


@router.get("/authorize", openapi_extra=AUTHORIZE_QUERY, response_class=HTMLResponse, responses=GET_RESPONSES)
async def authorize(request: Request) -> Response:
    """Show the login page for an authorization request, or say what is wrong with the request."""
    check_host(request, any_loopback_port=True)  # a rebinding page cannot show our login page as its own
    items = list(request.query_params.multi_items())
    try:
        checked = read_request(request, items)
    except PageError as exc:
        return refusal(request, exc)
    return login_page(checked.given, checked.client_id, checked.redirect_uri)


LOGIN_FORM = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["client_id", "redirect_uri"],
    "properties": {name: {"type": "string"} for name in sorted(LOGIN_PARAMETERS)}}}}}}


def document(operations: dict, clients) -> None:
    """Say in the OpenAPI document which clients and redirect URIs this server knows: the requests it serves.

    Anything else is answered on the page (400, HTML); a malformed login form is answered in JSON.
    """
    ids = {"type": "string", "enum": clients.ids}
    uris = {"type": "string", "pattern": "^(" + "|".join(_pattern(uri) for client_id in clients.ids
                                                        for uri in clients.get(client_id).redirect_uris) + ")$"}
    for parameter in operations["get"]["parameters"]:
        parameter["schema"] = {"client_id": ids, "redirect_uri": uris}.get(parameter["name"], parameter["schema"])
    form = operations["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    form["properties"].update(client_id=ids, redirect_uri=uris)
    operations["post"]["responses"]["400"]["content"] = {
        **PAGE, "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    operations["post"]["responses"]["400"]["description"] += "; a body that is not one form: JSON"


@router.post("/authorize", openapi_extra=LOGIN_FORM, response_class=HTMLResponse, responses={
    **GET_RESPONSES, "200": {"description": "the login page again, saying the login failed", "content": PAGE},
    "429": {"description": "too many failed logins: the login page says how long to wait", "content": PAGE,
            "headers": {"Retry-After": {"required": True, "schema": {"type": "string"}}}}})
async def log_in(request: Request) -> Response:
    """Check the password posted by the login page; send the browser back to the client with a code."""
    lab = lab_of(request)
    check_host(request, any_loopback_port=True)  # a rebinding page cannot log in through a name of its own
    check_same_origin(request)  # login CSRF: only this server's own page may post a password here
    fields = await read_form(request, known=LOGIN_PARAMETERS)
    items = [(name, value) for name, value in fields.items() if name in REQUEST_PARAMETERS]
    try:
        checked = read_request(request, items)
    except PageError as exc:
        return refusal(request, exc)
    username, password = fields.get("username", ""), fields.get("password", "")
    if not username or not password:
        return login_page(checked.given, checked.client_id, checked.redirect_uri, "Enter a username and a password")
    try:
        user = await authenticate(request, username, password, via="authorize")
    except TooManyFailedLogins as exc:
        return login_page(checked.given, checked.client_id, checked.redirect_uri, exc.description, status=429,
                          extra={"Retry-After": str(exc.retry_after)})
    if user is None:
        lab.audit.record("login_failed", via="authorize", username=username)
        return login_page(checked.given, checked.client_id, checked.redirect_uri, "Incorrect username or password")
    code = lab.codes.issue(user, checked.client_id, checked.redirect_uri, checked.challenge, checked.method, lab.now())
    lab.audit.record("code_issued", username=user.username, client=checked.client_id)
    return back_to_client(request, checked.redirect_uri, {"code": code, "state": checked.state})

