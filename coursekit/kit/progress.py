"""Which exercises you have solved, kept on your own machine: ``coursekit.exercises.show_progress()`` prints the table.

Every ``qN.check(...)`` that says Correct notes the exercise in a small JSON file, by default
``~/.jwt-course/progress.json`` (``JWT_COURSE_PROGRESS`` names another file; ``off`` turns it off, as the
test suite does). Nothing else reads it: the notebooks never print it, so their saved outputs do not depend
on it, and graded runs (``assert_correct``) do not write it.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

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
    if not isinstance(data, dict):
        return {}
    return {_RENAMED.get(key, key): value for key, value in data.items()}


def _key(exercise: Any) -> str:
    lesson = getattr(exercise, "lesson", "") or type(exercise).__module__.rsplit(".", 1)[-1]
    return f"{lesson}.{exercise.name}"  # "ex01.q3"


# Keys written before the capstone's exercises were filed under their lesson.
_RENAMED = {"capstone_client.q1": "ex09.q1", "capstone_verifier.q2": "ex09.q2"}


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


def show(exercises: Iterable[Any]) -> None:
    """Print these exercises (the course's: ``coursekit.exercises.show_progress()``) and when you solved each."""
    done = solved()
    rows = [(exercise.lesson, exercise.name, exercise.title) for exercise in exercises]
    print(f"{'lesson':7} {'exercise':9} {'solved':21} title")
    for lesson, name, title in rows:
        when = done.get(f"{lesson}.{name}", {}).get("at", "-")
        print(f"{lesson[2:]:7} {name:9} {when:21} {title}")
    count = sum(f"{lesson}.{name}" in done for lesson, name, _ in rows)
    where = path()
    print(f"\n{count} of {len(rows)} solved" + (f" (kept in {where})" if where else " (progress is off)"))
