"""The ready line: what a server started with ``--ready-line`` prints once it accepts connections.

``serve`` writes it and the handle that started the server (``start()``) reads it; both use this module, so
neither imports the other (nor the command line) for it.
"""

from __future__ import annotations

import json

READY_PREFIX = "LABSERVER READY "


def ready_line(details: dict) -> str:
    """The line announcing a server that accepts connections: the prefix, then its details as JSON."""
    return READY_PREFIX + json.dumps(details)


def parse_ready_line(line: str) -> dict | None:
    """The details a ready line announces, or None for any other line."""
    return json.loads(line[len(READY_PREFIX):]) if line.startswith(READY_PREFIX) else None
