"""The lab's own web page (/app/): one login form, three places to keep what it returns, and a simulated XSS.

Served by the lab server itself from labserver/static/, no CDN, so it works offline and shares the API's
origin. Mounted with the lab controls, on loopback only: the page is DELIBERATELY VULNERABLE (lab page
"inject"): it loads the script named in its ``?inject=`` parameter, which is exactly what a cross-site
scripting hole lets an attacker do. Lesson 08 uses it to show what an injected script can reach.

The defence is sent with it: a Content-Security-Policy that lets the page run, style and fetch only from
its own origin, so the injected script (from another origin) is never loaded and nothing is sent away;
``frame-ancestors 'none'`` (and X-Frame-Options) so no other site can frame it; nosniff so nothing it
serves is run as something else. Only the lab setting ``page_csp=False`` (``--no-csp``) leaves the policy
out: the DELIBERATELY VULNERABLE mode lesson 08 shows first. Like the lab controls, it answers only to
this server's own names (DNS rebinding, labserver.web.routes.sameorigin).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse

from labserver.web.errors import NotFound
from labserver.web.routes.deps import lab_of
from labserver.web.routes.sameorigin import own_host_only

router = APIRouter(prefix="/app", include_in_schema=False, dependencies=[Depends(own_host_only)])

POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
          "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
ALWAYS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
          "Referrer-Policy": "no-referrer"}

STATIC = Path(__file__).resolve().parents[2] / "static"  # labserver/static
_TYPES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "app.css": "text/css; charset=utf-8"}


@router.get("")
def to_page() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=308)


@router.get("/")
def page(request: Request) -> FileResponse:
    return _file(request, "index.html")


@router.get("/{name}")
def asset(name: str, request: Request) -> FileResponse:
    if name not in _TYPES:
        raise NotFound(f"no such file in the lab page: {name}")
    return _file(request, name)


def _file(request: Request, name: str) -> FileResponse:
    headers = dict(ALWAYS)
    if lab_of(request).settings.page_csp:
        headers["Content-Security-Policy"] = POLICY
    # DELIBERATELY VULNERABLE (lab setting page_csp=False): without the policy, the injected script loads and runs.
    return FileResponse(STATIC / name, media_type=_TYPES[name], headers=headers)
