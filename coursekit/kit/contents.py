"""What a value holds, all the way down, as a comparable record: two records differ if a list, a dict or a set
inside was changed in place, or an object of the course's own had an attribute changed.

The seal (coursekit.kit.seal) records the kit's module data and exercises before a submission runs, and
compares at the report: rebinding a name is seen by identity, changing a container in place only this way.
"""

from __future__ import annotations

from typing import Any

__all__ = ["contents"]

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
