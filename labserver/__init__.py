"""A small, standards-following auth server for the course: cookie sessions, JWT access tokens, refresh rotation.

Start one in-process with ``create_app(Settings())``, or in its own process with ``labserver.start()``.
"""

from labserver.control.settings import Settings

__all__ = ["Settings", "create_app", "LabServer", "start"]


def __getattr__(name: str):
    # Imported on first use: a server process never needs the handle (and requests), and a notebook that
    # starts servers in their own processes never needs the app (and FastAPI).
    if name == "create_app":
        from labserver.app import create_app

        return create_app
    if name in ("start", "LabServer"):
        from labserver.launch import handle

        return getattr(handle, name)
    raise AttributeError(f"module 'labserver' has no attribute {name!r}")
