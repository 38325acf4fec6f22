"""HTTP Strict Transport Security (RFC 6797): over HTTPS, tell browsers to use nothing but HTTPS here.

The header is sent over TLS only: a browser ignores it on plain HTTP (RFC 6797 §8.1), where an attacker
could have added or removed it, and ignores it for IP-address hosts. Production sites send a year
(``max-age=31536000``) once HTTPS works everywhere; the lab sends five minutes, because a browser that
remembers "HTTPS only" for ``localhost`` applies it to every port of it, other local projects included.
"""

from __future__ import annotations

HEADER = (b"strict-transport-security", b"max-age=300")


class StrictTransportSecurity:
    """ASGI middleware adding the HSTS header to every HTTP response (mounted only when the server uses TLS)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), HEADER]}
            await send(message)

        await self.app(scope, receive, send_with_header)
