"""What the classroom tests share: tools/build_classroom.py as a module, and a plausible half-right answer."""

from __future__ import annotations

import importlib.util
import sys

from notebook_tools import ROOT

_spec = importlib.util.spec_from_file_location("build_classroom", ROOT / "tools" / "build_classroom.py")
build_classroom = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = build_classroom  # dataclasses look their module up there
_spec.loader.exec_module(build_classroom)


def split_on_semicolon_space(set_cookie):
    """An answer to notebook 01's q1, right on every header the lesson shows, wrong when ';' has no space after it."""
    attributes = {}
    for part in set_cookie.split("; ")[1:]:
        name, _, value = part.partition("=")
        attributes[name.lower()] = value
    return {"HttpOnly": "httponly" in attributes, "Secure": "secure" in attributes,
            "SameSite": attributes.get("samesite")}
