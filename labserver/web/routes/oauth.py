"""The OAuth 2 endpoints: the token endpoint (RFC 6749 §4.1.3, §4.3, §5, §6) and revocation (RFC 7009).

The authorization code grant redeems a code from the login page (labserver.web.routes.authorize) with its
PKCE verifier; the tokens it gives start a refresh family like any login, and rotate the same way.

The password grant is a first-party login here: the course's own client sends the user's password to
its own server. RFC 9700 §2.4 says it MUST NOT be used, because it teaches users to type passwords into
other apps; real apps use the authorization code flow with PKCE. We use it to keep each lesson on
tokens, not on redirects.
"""

from __future__ import annotations

import base64
import functools
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from labserver.web.errors import (InvalidClient, InvalidGrant, InvalidRequest, InvalidScope, InvalidToken,
                                  OAuthError, TokenBudgetSpent, UnsupportedGrantType, UnsupportedTokenType)
from labserver.web.routes.deps import lab_of
from labserver.web.routes.forms import read_form, required
from labserver.web.routes.sameorigin import check_host, check_same_origin
from labserver.web.routes.sessions import authenticate

router = APIRouter(prefix="/oauth", tags=["oauth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _form_schema(required_fields: list[str], fields: dict[str, dict]) -> dict:
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": required_fields, "properties": fields}}}}}


TEXT = {"type": "string", "minLength": 1}
CLIENT = {"client_id": {"type": "string", "description": "a registered client (or name it in HTTP Basic)"},
          "scope": {"type": "string", "maxLength": 0, "description": "no scopes are issued: a scope is refused"}}
# Which fields a grant needs depends on grant_type (RFC 6749 §4.3.2, §6): one schema per grant.
TOKEN_FORM = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "oneOf": [
        {"type": "object", "required": ["grant_type", "username", "password"], "properties": {
            "grant_type": {"type": "string", "enum": ["password"]}, "username": TEXT, "password": TEXT, **CLIENT}},
        {"type": "object", "required": ["grant_type", "refresh_token"], "properties": {
            "grant_type": {"type": "string", "enum": ["refresh_token"]}, "refresh_token": TEXT, **CLIENT}},
        {"type": "object", "required": ["grant_type", "code", "redirect_uri", "client_id"], "properties": {
            "grant_type": {"type": "string", "enum": ["authorization_code"]}, "code": TEXT, "redirect_uri": TEXT,
            "code_verifier": {"type": "string", "pattern": "^[A-Za-z0-9._~-]{43,128}$",
                              "description": "the PKCE secret whose S256 hash was the code_challenge"},
            **CLIENT, "client_id": {"type": "string", "minLength": 1, "description": "the client the code was "
                                    "issued to (or name it in HTTP Basic)"}}},
    ]}}}}}
TOKEN_PARAMETERS = frozenset({"grant_type", "username", "password", "refresh_token", "client_id", "scope",
                              "code", "redirect_uri", "code_verifier"})
REVOKE_PARAMETERS = frozenset({"token", "token_type_hint", "client_id"})
REVOKE_FORM = _form_schema(["token"], {
    "token": TEXT, "token_type_hint": {"type": "string"}, "client_id": CLIENT["client_id"]})


def check_client(request: Request, fields: dict[str, str]) -> str | None:
    """Accept a registered public client, named in the form or in HTTP Basic with an empty secret; return its id."""
    lab = lab_of(request)
    named = fields.get("client_id")
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            # RFC 6749 §2.3.1: the client id is form-urlencoded before it goes into Basic.
            in_basic = unquote_plus(base64.b64decode(header[6:], validate=True).decode().partition(":")[0],
                                    errors="strict")
        except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text in the header
            raise InvalidClient("client authentication is malformed") from None
        if named is not None and named != in_basic:
            # RFC 6749 §2.3: one way of naming the client per request.
            raise InvalidRequest("the client is named twice, differently: in HTTP Basic and in client_id")
        named = in_basic
    if named is not None and lab.clients.get(named) is None:
        known = lab.clients.ids
        raise InvalidClient(f"unknown client; this server knows one client: {known[0]}" if len(known) == 1 else
                            f"unknown client; this server knows the clients {', '.join(known)}")
    return named


@router.post("/token", openapi_extra=TOKEN_FORM)
async def token(request: Request) -> JSONResponse:
    """Exchange a password, or a refresh token, for an access token and a new refresh token."""
    lab = lab_of(request)
    check_host(request, any_loopback_port=True)  # a rebinding page cannot log in, nor refresh, through a name of its own
    # Nor can a form on another site, or on another port of this machine: its failed logins would lock the owner out.
    check_same_origin(request)
    # LAB ONLY (labserver.control.referee): a budget and a refresh hold a check may set; both off by default.
    if not lab.referee.admit():
        if lab.referee.first_over_budget():
            lab.audit.record("token_budget_spent", budget=lab.referee.budget)
        raise TokenBudgetSpent(f"this lab allows {lab.referee.budget} token requests for this check, and they "
                               "are spent: the client is looping")
    fields = await read_form(request, known=TOKEN_PARAMETERS)
    client_id = check_client(request, fields)
    grant = required(fields, "grant_type")
    if grant == "refresh_token":
        await lab.referee.before_refresh()
    issued_to = None  # the client the access token names: the lessons' client unless a code says otherwise
    if fields.get("scope"):
        # RFC 6749 §3.3: honour the scope asked for or refuse it, never drop it silently.
        raise InvalidScope("this server issues no scopes: leave scope out (what a token allows comes from "
                           "the account's role)")
    if grant == "password":
        username, password = required(fields, "username"), required(fields, "password")
        user = await authenticate(request, username, password, via="token")
        if user is None:
            lab.audit.record("login_failed", via="token", username=username)
            raise InvalidGrant("Incorrect username or password")
        refresh_token, family_id = lab.refresh.start_family(user, lab.now())
        lab.audit.record("login", via="token", username=user.username, family=family_id)
    elif grant == "refresh_token":
        try:
            rotation = lab.refresh.rotate(required(fields, "refresh_token"), lab.now(), client_id)
        except InvalidGrant as exc:
            lab.audit.record("refresh_denied", reason=exc.description)
            raise
        user, refresh_token, family_id = rotation.user, rotation.refresh_token, rotation.family_id
        issued_to = rotation.client_id  # the new access token names the client the login was for
        # DELIBERATELY VULNERABLE (lab flaw "refresh-subject"): an expired access token sent beside the refresh
        # token decides whom the new access token is for, so bob's refresh token renews alice's access.
        # The fix: the refresh token alone decides; its family belongs to one user (rotation.user), full stop.
        if lab.flaws.on("refresh-subject"):
            user = await _subject_of_expired(lab, request) or user
        lab.audit.record("refresh", username=user.username, family=rotation.family_id, role=user.role)
    elif grant == "authorization_code":
        if client_id is None:  # RFC 6749 §4.1.3: a public client names itself
            raise InvalidRequest("parameter client_id is missing")
        code, redirect_uri = required(fields, "code"), required(fields, "redirect_uri")
        try:
            granted = lab.codes.redeem(code, client_id, redirect_uri, fields.get("code_verifier"), lab.now())
        except OAuthError as exc:
            lab.audit.record("code_refused", reason=exc.description)
            raise
        user, refresh_token, family_id = granted.user, granted.refresh_token, granted.family_id
        lab.audit.record("login", via="code", username=user.username, family=family_id)
        issued_to = client_id
    else:
        raise UnsupportedGrantType("grant_type must be authorization_code, password or refresh_token")
    access_token, claims = lab.tokens.issue(user, lab.now(), issued_to)
    lab.denylist.track(claims, family_id)
    return JSONResponse({"access_token": access_token, "token_type": "Bearer",
                         "expires_in": int(lab.settings.access_ttl), "refresh_token": refresh_token},
                        headers=NO_STORE)


async def _subject_of_expired(lab, request: Request):
    """The user named by a signed (possibly expired) bearer access token on this request, or None (flaw only)."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer ":
        return None
    verify = functools.partial(lab.tokens.verify, header[7:].strip(), lab.now(), allow_expired=True)
    try:  # off the event loop when verifying may fetch (see AccessTokens.may_block)
        claims = (await run_in_threadpool(verify) if lab.tokens.may_block else verify()).claims
    except InvalidToken:
        return None
    return lab.users.by_name(claims["username"])


@router.post("/revoke", openapi_extra=REVOKE_FORM)
async def revoke(request: Request) -> Response:
    """Revoke a refresh token (its whole login, and with the denylist on its access tokens too), or an access token."""
    lab = lab_of(request)
    check_same_origin(request)  # a page on another site, or on another port of this machine, ends no login
    fields = await read_form(request, known=REVOKE_PARAMETERS)
    client_id = check_client(request, fields)
    token = required(fields, "token")
    now = lab.now()
    # The hint only orders the search (RFC 7009 §2.1): a refresh token sent as "access_token" is still found.
    if fields.get("token_type_hint") != "access_token" or token.count(".") != 2:
        family = lab.refresh.revoke(token, now, client_id)
        if family is not None:
            lab.audit.record("revocation", token_type="refresh_token", family=family)
            return Response(status_code=200, headers=NO_STORE)
    if token.count(".") == 2:
        try:
            verify = lab.tokens.verify
            claims = (await run_in_threadpool(verify, token, now) if lab.tokens.may_block else verify(token, now)).claims
        except InvalidToken:  # malformed, forged or expired: nothing to revoke (RFC 7009 §2.2)
            return Response(status_code=200, headers=NO_STORE)
        if client_id is not None and client_id != claims.get("client_id", lab.settings.client_id):
            raise InvalidGrant("access token was issued to another client")  # RFC 7009 §2.1
        if not lab.denylist.enabled:
            # Without a denylist an access token stays valid until exp: that is the price of statelessness.
            raise UnsupportedTokenType("access tokens cannot be revoked here; they expire on their own")
        lab.denylist.add(claims["jti"], claims["exp"], now)
        lab.audit.record("revocation", token_type="access_token", jti=claims["jti"])
    # RFC 7009 §2.2: an invalid or unknown token is answered 200 as well: nothing to reveal.
    return Response(status_code=200, headers=NO_STORE)
