"""Requests from web pages: answer only for our own address, and change state only for our own pages.

A browser lets any web page send requests to 127.0.0.1. Two attacks follow, and two checks stop them:

- DNS rebinding: a page on ``rebind.attacker.example`` points its name at 127.0.0.1 and reads the answers,
  since to the browser they are same-origin. The request still says ``Host: rebind.attacker.example``, so
  the lab controls, the lab page and the login routes answer only when Host is a name of this server:
  127.0.0.1, localhost or [::1] with its port, its own ``--host`` address, and the names given with
  ``--server-name`` (a server on a network address is reached by a name the instructor configures).
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
    """The Host header values that name this server: its loopback names and configured names, with its port."""
    names = {*LOOPBACK_NAMES, f"[{settings.host}]" if ":" in settings.host else settings.host,
             *(name.lower() for name in settings.server_names)}
    hosts = {f"{name}:{settings.port}" for name in names}
    if settings.port == (443 if settings.uses_tls else 80):  # the default port may be left out
        hosts |= names
    return frozenset(hosts)


def allowed_origins(settings: Settings) -> frozenset[str]:
    scheme = "https" if settings.uses_tls else "http"
    return frozenset(f"{scheme}://{host}" for host in allowed_hosts(settings))


def check_host(request: Request, *, any_loopback_port: bool = False) -> None:
    """Refuse a request whose Host is not a name of this server (DNS rebinding).

    ``any_loopback_port``: a loopback address with another port is a relay on this machine (lesson 08's
    wiretap), not a rebinding page, whose Host is always a name of its own. The lab controls want the port.
    """
    settings = lab_of(request).settings
    host = request.headers.get("host", "").lower()
    name, _colon, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if any_loopback_port and name in LOOPBACK_NAMES and port.isdigit():
        return
    if host not in allowed_hosts(settings):
        names = [f"127.0.0.1:{settings.port}", f"localhost:{settings.port}", f"[::1]:{settings.port}",
                 *(f"{name.lower()}:{settings.port}" for name in settings.server_names)]
        raise Forbidden(f"this server answers only at {', '.join(names[:-1])} or {names[-1]}"
                        + ("" if settings.is_loopback else " (name others with --server-name)"))


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing request that a browser sent from another site's page."""
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site", "").lower()  # header values compare case-insensitively here
    origin = request.headers.get("origin")
    if site in ("cross-site", "same-site") or (origin is not None and not _own_origin(request, origin.lower())):
        raise CrossSiteRequest("cross-site request refused: "
                               "send it from this server's own pages, or not from a browser")


def _own_origin(request: Request, origin: str) -> bool:
    # The origin the browser connected to (any address the server has on a network), or a loopback name of it.
    own = f"{request.url.scheme}://{request.headers.get('host', '').lower()}"
    return origin == own or origin in allowed_origins(lab_of(request).settings)


async def own_pages_only(request: Request) -> None:
    """Dependency of the lab controls and logins: our own address, and state changes only from our own origin."""
    check_host(request)
    check_same_origin(request)


async def own_host_only(request: Request) -> None:
    """Dependency of the lab page: our own address (it changes nothing, so any site may link to it)."""
    check_host(request, any_loopback_port=True)
