"""A small, standards-following auth server for the course: cookie sessions, JWT access tokens, refresh rotation.

Start one in-process with ``create_app(Settings())``, or in its own process with ``labserver.start()``.
"""

from labserver.handle import LabServer, start
from labserver.settings import Settings

__all__ = ["Settings", "create_app", "LabServer", "start"]


def __getattr__(name: str):
    # The app pulls in FastAPI; a notebook that only starts servers in their own processes never needs it.
    if name == "create_app":
        from labserver.app import create_app

        return create_app
    raise AttributeError(f"module 'labserver' has no attribute {name!r}")
