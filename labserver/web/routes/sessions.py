"""Cookie sessions: log in with a form, carry an opaque id in a cookie, log out by deleting the row."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from labserver.control.clock import iso
from labserver.web.errors import InvalidCredentials, LoginRequired, TooManyFailedLogins
from labserver.web.routes.deps import lab_of
from labserver.web.routes.forms import read_form, required
from labserver.web.routes.sameorigin import check_host, check_same_origin

router = APIRouter(prefix="/session", tags=["sessions"])

LOGIN_FORM = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["username", "password"],
    "properties": {"username": {"type": "string", "minLength": 1},
                   "password": {"type": "string", "minLength": 1}}}}}}}


@router.post("/login", openapi_extra=LOGIN_FORM)
async def login(request: Request, response: Response) -> dict:
    """Check the password and start a session; the answer sets the session cookie.

    Refused when a browser posts it from another site (login CSRF); no answer of it is cached.
    """
    lab = lab_of(request)
    check_host(request, any_loopback_port=True)  # a rebinding page cannot log in through a name of its own
    check_same_origin(request)
    fields = await read_form(request, known=frozenset({"username", "password"}))
    username = required(fields, "username")
    password = required(fields, "password")
    user = await authenticate(request, username, password, via="session")
    if user is None:
        lab.audit.record("login_failed", via="session", username=username)
        raise InvalidCredentials("Incorrect username or password")
    session_id = lab.sessions.create(user, lab.now())
    lab.audit.record("login", via="session", username=user.username)
    # HttpOnly: page scripts cannot read it. SameSite=Strict: other sites' requests do not carry it.
    response.set_cookie(lab.sessions.cookie_name(), session_id, httponly=True, samesite="strict",
                        secure=lab.settings.uses_tls, path="/")
    response.headers["Cache-Control"] = "no-store"
    return {"username": user.username, "role": user.role}


async def authenticate(request: Request, username: str, password: str, *, via: str):
    """Return the user if the password is right, else None; the same work and answer for every failure.

    Raises TooManyFailedLogins, before any password check, once this name or address failed too often
    (labserver.accounts.throttle).
    """
    lab = lab_of(request)
    address = request.client.host if request.client else "unknown"

    def check_password():
        # In a worker thread, when the check really starts: failures finished meanwhile count too.
        lab.throttle.check_address(attempt, lab.now())
        return lab.users.authenticate(username, password)

    try:
        attempt = lab.throttle.start(username, address, lab.now())
        # argon2 takes ~20 ms of CPU: run it off the event loop so other requests go on meanwhile.
        user = await run_in_threadpool(check_password)
    except TooManyFailedLogins:
        lab.audit.record("login_throttled", via=via, username=username, address=address)
        raise
    if user is None:
        lab.throttle.failed(attempt, lab.now())
    else:
        lab.throttle.succeeded(attempt)
    return user


@router.get("/me")
def whoami(request: Request) -> dict:
    """Who the session cookie belongs to; costs a store read and a write on every request."""
    lab = lab_of(request)
    session_id = request.cookies.get(lab.sessions.cookie_name())
    session = lab.sessions.lookup(session_id, lab.now()) if session_id else None
    if session is None:
        raise LoginRequired("no valid session: log in first")
    return {"username": session.user.username, "role": session.user.role,
            "session": {"created_at": iso(session.created_at), "expires_at": iso(session.expires_at)}}


@router.post("/logout")
def logout(request: Request, response: Response) -> dict:
    """Delete the session row: the cookie stops working at once, wherever it was copied to.

    A request from another site's page is refused, and no answer touches a cookie the request did not bring:
    a form auto-posted from another site arrives without the cookie (SameSite), and its answer must not
    delete it either (forced logout).
    """
    lab = lab_of(request)
    check_host(request, any_loopback_port=True)
    check_same_origin(request)
    name = lab.sessions.cookie_name()
    session_id = request.cookies.get(name)
    ended = bool(session_id) and lab.sessions.delete(session_id)
    if ended:
        lab.audit.record("logout", via="session")
    if session_id is not None:
        response.delete_cookie(name, httponly=True, samesite="strict", secure=lab.settings.uses_tls, path="/")
    return {"logged_out": ended}
