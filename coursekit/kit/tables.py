"""Print dicts, rows and audit events as small aligned text tables, so a lesson shows them at a glance.

The text is the same on every run (no widths taken from the terminal), so nbval can compare it. Long
values, such as a JWT, are cut to a prefix and their length: the table says what is there, not every byte.
"""

from __future__ import annotations

from typing import Iterable

__all__ = ["format_table", "show", "show_events"]

WIDTH = 44  # the widest a cell gets before it is cut


def _cell(value, width: int) -> str:
    text = "" if value is None else str(value)
    if len(text) > width:
        tail = f"… ({len(text)} chars)"
        text = text[:max(width - len(tail), 8)] + tail
    return text


def _numeric(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_table(rows: Iterable[dict], columns: list[str] | None = None, *, width: int = WIDTH) -> str:
    """Rows (dicts) as a text table with a header line; columns default to every key, in order of appearance."""
    rows = list(rows)
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(column), width) for column in columns] for row in rows]
    widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
    right = [bool(rows) and all(_numeric(row.get(c)) for row in rows if row.get(c) is not None) for c in columns]

    def line(values):
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

    out = [line(columns), line(["-" * w for w in widths])]
    out += [line(values) for values in cells]
    return "\n".join(out)


def show(data, columns: list[str] | None = None, *, width: int = WIDTH) -> None:
    """Print a dict as a field/value table, or a list of dicts (rows of a store table, say) as a table."""
    if isinstance(data, dict):
        print(format_table([{"field": k, "value": v} for k, v in data.items()], width=width))
    else:
        print(format_table(data, columns, width=width))


def show_events(events: Iterable[dict], *, width: int = 100) -> None:
    """Print audit events one a line: id, lab time (with the date when they span days), event, then name=value."""
    events = list(events)
    days = {str(event.get("at", ""))[:10] for event in events}
    when = (lambda at: at[11:19]) if len(days) <= 1 else (lambda at: at[:10] + " " + at[11:19])
    rows = []
    for event in events:
        details = " ".join(f"{k}={v}" for k, v in event.items() if k not in ("id", "at", "event"))
        rows.append({"id": event.get("id"), "time": when(str(event.get("at", ""))), "event": event.get("event"),
                     "details": details})
    print(format_table(rows, ["id", "time", "event", "details"], width=width))
