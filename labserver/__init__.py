"""A small, standards-following auth server for the course: cookie sessions, JWT access tokens, refresh rotation.

Start one in-process with ``create_app(Settings())``, or in its own process with ``labserver.start()``.
"""

from labserver.settings import Settings
from labserver.app import create_app
from labserver.handle import LabServer, start

__all__ = ["Settings", "create_app", "LabServer", "start"]
