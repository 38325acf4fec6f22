"""An answer's values as plain built-in values, so that a check compares values, not the answer's own ``==``.

A str subclass whose ``__eq__`` always says True, or an int that equals every number, would pass any check
that compares with ``==`` (Python asks the subclass first, whichever side it is on). ``plain()`` copies
such values into exact ``str``, ``int``, ``dict``, ... before a check reads them: an IntEnum becomes its number,
an OrderedDict a dict, and anything else (a response, a client object) is left as it is.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

from coursekit.kit.verdicts import Incorrect

__all__ = ["plain", "plain_results", "whole_number"]

_SCALARS = (bool, int, float, complex, str, bytes)  # bool first: it is an int, and stays a bool
_DEPTH = 32


def plain(value: Any, _depth: int = _DEPTH) -> Any:
    """``value`` with every built-in value in it (nested in dicts, lists, tuples, sets) of its exact built-in type."""
    kind = type(value)
    if kind in _SCALARS or value is None or _depth == 0:
        return value
    for scalar in _SCALARS:
        if isinstance(value, scalar):
            return scalar.__new__(scalar, value) if scalar is not bool else bool(value)
    if isinstance(value, dict):
        return {plain(k, _depth - 1): plain(v, _depth - 1) for k, v in dict.items(value)}
    if isinstance(value, (list, tuple, set, frozenset)):
        base = next(b for b in (list, tuple, set, frozenset) if isinstance(value, b))
        if kind is base and all(type(v) in _SCALARS or v is None for v in base.__iter__(value)):
            return value
        return base(plain(v, _depth - 1) for v in base.__iter__(value))
    return value


def plain_results(fn: Callable) -> Callable:
    """``fn`` whose results come back as ``plain()`` values (a class is left as it is: its instances are objects)."""
    if isinstance(fn, type):
        return fn

    @functools.wraps(fn)
    def made_plain(*args: Any, **kwargs: Any) -> Any:
        return plain(fn(*args, **kwargs))

    return made_plain


def whole_number(name: str, value: Any) -> int:
    """A learner's number that must be whole: an int, or a float such as 401.0 (taken as 401); else Incorrect."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value == int(value)):
        raise Incorrect(f"{name} should be a whole number (int), such as 200, not {value!r}")
    return int(value)
