"""Count requests and the store reads and writes each kind of request makes."""

from __future__ import annotations

from labserver.storage.store import request_kind


# Any other method is counted as OTHER: the table of counters has one row per route and known method at most.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class CountStoreUse:
    """ASGI middleware: file each request's store use under "METHOD /route/template"."""

    def __init__(self, app, counters: dict) -> None:
        self.app = app
        self.counters = counters

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counts = {"reads": 0, "writes": 0}
        token = request_kind.set(counts)
        try:
            await self.app(scope, receive, send)
        finally:
            request_kind.reset(token)
            route = scope.get("route")
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            kind = f"{method} {route.path if route else '(no route)'}"
            totals = self.counters[kind]
            totals["requests"] += 1
            totals["reads"] += counts["reads"]
            totals["writes"] += counts["writes"]
