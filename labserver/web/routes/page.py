"""The lab's own web page (/app/): one login form, three places to keep what it returns, and a simulated XSS.

Served by the lab server itself from labserver/static/, no CDN, so it works offline and shares the API's
origin. Mounted with the lab controls, on loopback only: the page is DELIBERATELY VULNERABLE (lab page
"inject"): it loads the script named in its ``?inject=`` parameter, which is exactly what a cross-site
scripting hole lets an attacker do. Lesson 08 uses it to show what an injected script can reach.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from labserver.web.errors import NotFound

router = APIRouter(prefix="/app", include_in_schema=False)

STATIC = Path(__file__).resolve().parents[2] / "static"  # labserver/static
_TYPES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "app.css": "text/css; charset=utf-8"}


@router.get("")
def to_page() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=308)


@router.get("/")
def page() -> FileResponse:
    return _file("index.html")


@router.get("/{name}")
def asset(name: str) -> FileResponse:
    if name not in _TYPES:
        raise NotFound(f"no such file in the lab page: {name}")
    return _file(name)


def _file(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type=_TYPES[name], headers={"Cache-Control": "no-store"})
