"""Registered clients and their redirect URIs, matched exactly (RFC 9700 §4.1.3, RFC 6749 §3.1.2).

A code goes wherever the redirect URI says, so the server sends it only to a URI registered for the
client, compared as a whole string: no prefix, no pattern. The one allowance is the port of a loopback
redirect URI (``http://127.0.0.1/...``, ``http://[::1]/...``): a native app listens on whatever port the
system gives it, so any port is accepted there, the rest of the URI still exact (RFC 8252 §7.3).
That also means any local program can listen there: on a shared machine PKCE, not the redirect URI,
keeps a caught code useless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "[::1]")
_PORT = re.compile(r":([1-9][0-9]{0,4})$")


@dataclass(frozen=True)
class Client:
    """A public client of the code flow (no secret: a notebook or a browser app cannot keep one)."""

    client_id: str
    redirect_uris: tuple[str, ...]


def check_registrations(registrations) -> None:
    """Raise ValueError unless every registered redirect URI is absolute, http(s), fragment-free and unique."""
    seen = set()
    for client_id, uris in registrations:
        if not client_id or client_id in seen:
            raise ValueError(f"client ids must be non-empty and unique: {client_id!r}")
        seen.add(client_id)
        for uri in uris:
            parts = urlsplit(uri)
            if parts.scheme not in ("http", "https") or not parts.hostname or "#" in uri or "@" in parts.netloc:
                raise ValueError(f"redirect URI {uri!r} of {client_id}: absolute http(s), no fragment, no user")
            if is_loopback(uri) and parts.port is not None:
                raise ValueError(f"redirect URI {uri!r} of {client_id}: a loopback redirect URI has no port "
                                 "(any port is accepted, RFC 8252 §7.3)")


def is_loopback(uri: str) -> bool:
    """True for a loopback IP literal over http: the redirect URIs whose port is not compared."""
    parts = urlsplit(uri)
    host = parts.netloc.rpartition(":")[0] if _PORT.search(parts.netloc) else parts.netloc
    return parts.scheme == "http" and host in LOOPBACK_HOSTS


def without_port(uri: str) -> str:
    """The URI with the port of its authority taken out (and nothing else changed)."""
    scheme, sep, rest = uri.partition("://")
    authority, slash, tail = rest.partition("/")
    return f"{scheme}{sep}{_PORT.sub('', authority)}{slash}{tail}"


class Clients:
    """The clients this server knows, by id."""

    def __init__(self, registrations) -> None:
        self._by_id = {client_id: Client(client_id, tuple(uris)) for client_id, uris in registrations}

    def get(self, client_id: str) -> Client | None:
        return self._by_id.get(client_id)

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    def redirect_allowed(self, client: Client, uri: str, *, loose: bool = False) -> bool:
        """Whether ``uri`` is one of the client's registered redirect URIs (a loopback one on any port)."""
        if "#" in uri:
            return False  # RFC 6749 §3.1.2: no fragment
        if loose:
            # DELIBERATELY VULNERABLE (lab flaw "redirect-prefix"): a string prefix of the registered URI's
            # scheme and host is taken for a match, so http://127.0.0.1.attacker.example/ or
            # http://127.0.0.1@attacker.example/ passes, and the code goes to the attacker's host.
            # The fix is the exact comparison below.
            return any(uri.startswith(_origin(registered)) for registered in client.redirect_uris)
        for registered in client.redirect_uris:
            if uri == registered:
                return True
            if is_loopback(registered) and is_loopback(uri) and without_port(uri) == registered:
                return True
        return False


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"
