"""The course's exercises, one module per lesson (``ex00`` … ``ex10``), each binding its exercises to ``q1``, ``q2``, ….

A lesson imports its own: ``from coursekit.exercises.ex03 import q1, q2, q3``. Their reference solutions live in
``coursekit.answers``; the engine they are built on, in ``coursekit.kit``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from coursekit.kit import progress
from coursekit.kit.exercise import Exercise

__all__ = ["course_exercises", "show_progress"]


def course_exercises() -> list[Exercise]:
    """Every exercise of the course, in lesson order and then by name (the lessons' modules are imported)."""
    found = []
    for module_name in sorted(m.name for m in pkgutil.iter_modules(__path__) if re.fullmatch(r"ex\d\d", m.name)):
        module = importlib.import_module(f"{__name__}.{module_name}")
        found += [value for name, value in sorted(vars(module).items())
                  if isinstance(value, Exercise) and value.name == name]
    return found


def show_progress() -> None:
    """Print every exercise of the course, and when you solved it (``coursekit.kit.progress``)."""
    progress.show(course_exercises())
