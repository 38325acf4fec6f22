"""Records of what a program holds, taken before a submission runs and compared after (coursekit.kit.grading.seal):
every module's bindings, every class's attributes (a rebinding is seen by identity), and what the kit's modules
hold all the way down (a list, a dict or a set changed in place, or a kit object's attribute changed).
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["bindings", "classes", "contents", "module_data"]

_KIT = ("coursekit", "labserver")
_DEPTH = 8


def contents(value: Any, skip: frozenset = frozenset(), _depth: int = _DEPTH, _path: frozenset = frozenset()) -> Any:
    """A record of ``value``: containers by what they hold (a container swapped for an equal one is the same),
    the kit's own objects by identity and what they hold (but their attributes named in ``skip``: state they keep
    on purpose), anything else by identity."""
    if id(value) in _path or _depth == 0:
        return ("seen", id(value))
    inside = _path | {id(value)}
    kind = type(value)
    if kind in (list, tuple):
        return (kind.__name__, tuple(contents(v, skip, _depth - 1, inside) for v in value))
    if kind is dict:
        return ("dict", tuple((contents(k, skip, _depth - 1, inside), contents(v, skip, _depth - 1, inside))
                                        for k, v in value.items()))
    if kind in (set, frozenset):
        return (kind.__name__, frozenset(id(v) for v in value))
    if isinstance(value, type):  # the kit's classes by what their attributes hold (a list of hints, a table)
        if str(value.__dict__.get("__module__", "")).split(".")[0] not in _KIT:
            return ("value", id(value))
        return ("class", id(value), contents({k: v for k, v in value.__dict__.items() if not k.startswith("__")},
                                             skip, _depth - 1, inside))
    module = getattr(kind, "__module__", "") or ""
    if module.split(".")[0] in _KIT and hasattr(value, "__dict__"):
        attributes = {k: v for k, v in vars(value).items() if k not in skip}
        return ("object", id(value), contents(attributes, skip, _depth - 1, inside))
    return ("value", id(value))


def bindings() -> dict[str, tuple[Any, dict]]:
    """Every loaded module with a copy of its bindings (name -> object)."""
    found = {}
    for name, module in list(sys.modules.items()):
        try:
            found[name] = (module, dict(vars(module)))
        except TypeError:  # None placeholders, odd module-like objects
            continue
    return found


def classes(modules: dict[str, tuple[Any, dict]]) -> dict[type, dict]:
    """Every class defined in a loaded module, with a copy of its attributes."""
    found = {}
    for name, (_, names) in modules.items():
        for value in names.values():
            if isinstance(value, type) and getattr(value, "__module__", None) == name:
                try:
                    found[value] = dict(vars(value))
                except TypeError:
                    continue
    return found


def module_data(module: types.ModuleType, skip: frozenset = frozenset()) -> dict[str, Any]:
    """What a module holds, name by name, deeply: its own data, not the interpreter's ``__builtins__`` and the
    like, nor its submodules (a package gains one when first imported; bindings are checked by identity anyway),
    nor what it names in ``_RUNNING_STATE`` (what it changes on purpose as it runs: the labs it started)."""
    running = vars(module).get("_RUNNING_STATE", ())
    return {k: contents(v, skip) for k, v in list(vars(module).items())
            if not k.startswith("__") and k not in running and not isinstance(v, types.ModuleType)}
