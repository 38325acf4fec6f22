"""Which exercises you have solved, kept on your own machine: ``progress.show()`` prints the table.

Every ``qN.check(...)`` that says Correct notes the exercise in a small JSON file, by default
``~/.jwt-course/progress.json`` (``JWT_COURSE_PROGRESS`` names another file; ``off`` turns it off, as the
test suite does). Nothing else reads it: the notebooks never print it, so their saved outputs do not depend
on it, and graded runs (``assert_correct``) do not write it.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["path", "solved", "record", "show", "forget"]

ENV = "JWT_COURSE_PROGRESS"


def path() -> Path | None:
    """The progress file, or None when progress is off."""
    setting = os.environ.get(ENV, "")
    if setting.lower() == "off":
        return None
    return Path(setting).expanduser() if setting else Path.home() / ".jwt-course" / "progress.json"


def solved() -> dict[str, dict]:
    """The solved exercises, ``{"ex01.q3": {"title": ..., "at": ...}}``; empty if none or unreadable."""
    where = path()
    try:
        data = json.loads(where.read_text()) if where else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _key(exercise: Any) -> str:
    return f"{type(exercise).__module__.rsplit('.', 1)[-1]}.{exercise.name}"


def record(exercise: Any) -> None:
    """Note an exercise as solved (its first time only). Never raises: progress is a convenience."""
    where = path()
    if where is None or not getattr(exercise, "name", ""):
        return
    try:
        data = solved()
        key = _key(exercise)
        if key in data:
            return
        data[key] = {"title": exercise.title, "at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
        where.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=where.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(data, tmp, indent=1, sort_keys=True)
        os.replace(tmp.name, where)  # whole file or nothing, even if two notebooks write at once
    except OSError:
        pass


def forget() -> None:
    """Start over: delete the progress file."""
    where = path()
    if where is not None:
        where.unlink(missing_ok=True)


def _course() -> list[tuple[str, str, str]]:
    """(lesson, exercise name, title) of every exercise of the course, in order."""
    import coursekit
    from coursekit.exercise import Exercise

    rows = []
    modules = sorted(m.name for m in pkgutil.iter_modules(coursekit.__path__) if m.name[:2] == "ex"
                     and m.name[2:].isdigit())
    for module_name in modules:
        module = importlib.import_module(f"coursekit.{module_name}")
        for name, value in sorted(vars(module).items()):
            if isinstance(value, Exercise) and value.name == name:
                rows.append((module_name, name, value.title))
    return rows


def show() -> None:
    """Print every exercise of the course, and when you solved it."""
    done = solved()
    rows = _course()
    print(f"{'lesson':7} {'exercise':9} {'solved':21} title")
    for module_name, name, title in rows:
        when = done.get(f"{module_name}.{name}", {}).get("at", "-")
        print(f"{module_name[2:]:7} {name:9} {when:21} {title}")
    count = sum(f"{m}.{n}" in done for m, n, _ in rows)
    where = path()
    print(f"\n{count} of {len(rows)} solved" + (f" (kept in {where})" if where else " (progress is off)"))
