"""Requests from web pages: answer only for our own address, and change state only for our own pages.

A browser lets any web page send requests to 127.0.0.1. Two attacks follow, and two checks stop them:

- DNS rebinding: a page on ``rebind.attacker.example`` points its name at 127.0.0.1 and reads the answers,
  since to the browser they are same-origin. The request still says ``Host: rebind.attacker.example``, so
  the lab controls answer only when Host is an address this server answers on (127.0.0.1, localhost or
  [::1], with its port).
- Cross-site requests: a form on any page can POST here (a "simple" request needs no CORS permission),
  and the browser sends it. Browsers say where such a request comes from in ``Origin`` (``null`` from a
  sandboxed or file page) and ``Sec-Fetch-Site`` (Fetch Metadata); a state-changing request that comes
  from another origin is refused. Clients that are not browsers (requests, curl) send neither header.
  The session login form needs this too (login CSRF: a page logging the victim in as the attacker).
"""

from __future__ import annotations

from fastapi import Request

from labserver.control.settings import Settings
from labserver.web.errors import CrossSiteRequest, Forbidden
from labserver.web.routes.deps import lab_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """The Host header values that name this server: its loopback names with its port."""
    names = {*LOOPBACK_NAMES, f"[{settings.host}]" if ":" in settings.host else settings.host}
    hosts = {f"{name}:{settings.port}" for name in names}
    if settings.port == (443 if settings.uses_tls else 80):  # the default port may be left out
        hosts |= names
    return frozenset(hosts)


def allowed_origins(settings: Settings) -> frozenset[str]:
    scheme = "https" if settings.uses_tls else "http"
    return frozenset(f"{scheme}://{host}" for host in allowed_hosts(settings))


def check_host(request: Request) -> None:
    """Refuse a request whose Host is not this server's own address (DNS rebinding)."""
    settings = lab_of(request).settings
    if request.headers.get("host", "").lower() not in allowed_hosts(settings):
        raise Forbidden(f"the lab controls answer only at 127.0.0.1:{settings.port}, localhost:{settings.port} "
                        f"or [::1]:{settings.port}")


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing request that a browser sent from another site's page."""
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if site in ("cross-site", "same-site") or (origin is not None and not _own_origin(request, origin.lower())):
        raise CrossSiteRequest("cross-site request refused: "
                               "send it from this server's own pages, or not from a browser")


def _own_origin(request: Request, origin: str) -> bool:
    # The origin the browser connected to (any address the server has on a network), or a loopback name of it.
    own = f"{request.url.scheme}://{request.headers.get('host', '').lower()}"
    return origin == own or origin in allowed_origins(lab_of(request).settings)


async def own_pages_only(request: Request) -> None:
    """Dependency of the lab controls: our own address, and state changes only from our own origin."""
    check_host(request)
    check_same_origin(request)
