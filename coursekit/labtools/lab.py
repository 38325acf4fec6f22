"""Start and stop the lab servers a notebook uses, so each notebook can run alone and run again.

Every lab server a notebook starts has a frozen clock at the course's start time, a fixed issuer name
and seeded randomness (lab only), so tokens, ids and times come out the same on every run.
Exercise checks use ``fresh_lab``: servers of their own, so a check never changes the notebook's labs.
"""

from __future__ import annotations

import re
import sys
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import labserver
from labserver import LabServer
from labserver.launch import forkclient

# Lab servers are forked from a process that has imported the server once (labserver.launch.forkclient), shared by
# the user's kernels. Connect to it now (starting it if no other kernel has), so that a new one imports
# while the notebook goes on importing, not when the first lab starts.
forkclient.prestart()

# Monday morning, 09:00 UTC: "now" in every lesson until a lesson moves the clock.
COURSE_START = "2030-01-07T09:00:00Z"

_labs: dict[str, LabServer] = {}
# The labs started: changed as a notebook runs (coursekit.kit.grading.seal leaves it be; the checks' labs are watched by
# coursekit.kit.grading.lab_ledger).
_RUNNING_STATE = ("_labs",)


def start_lab(name: str = "lab", *, share_keys_with: LabServer | None = None, **settings) -> LabServer:
    """Start the lab server called ``name`` (stopping a previous one of that name) and return its handle.

    ``settings`` are lab server settings such as ``access_ttl=60`` or ``algorithm="RS256"``;
    ``share_keys_with`` makes a second replica of the same service (same keys and issuer, own store).
    """
    stop_lab(name)
    settings.setdefault("frozen_at", COURSE_START)
    # LAB ONLY: predictable secrets make every token in the notebook reproducible; see labserver.control.randomness.
    settings.setdefault("seed", lab_seed(name))
    if share_keys_with is None:
        # A real issuer is the server's public HTTPS URL; a fixed name keeps the port out of the tokens.
        settings.setdefault("issuer", f"https://{name}.jwt-course.test")
    _labs[name] = labserver.start(share_keys_with=share_keys_with, **settings)
    return _labs[name]


def lesson() -> str:
    """The lesson this Python process runs, named by the exercises it imported: ``"ex02"`` after
    ``from coursekit.exercises.ex02 import q1``; ``""`` before any (notebook 00 starts its lab first).

    Every lesson imports its own exercises in its setup cell, so each gets secrets of its own (see lab_seed).
    Where several are imported (a test process), the last one in course order counts.
    """
    found = (re.fullmatch(r"coursekit\.exercises\.(ex\d\d)", name) for name in list(sys.modules))
    return max((match.group(1) for match in found if match), default="")


def lab_seed(name: str, lesson_name: str | None = None) -> int:
    """The seed of the lab called ``name`` in a lesson: derived from both, so that no two labs of the course,
    in one notebook or in two, draw the same session ids, refresh tokens or keys."""
    return zlib.crc32(f"{lesson() if lesson_name is None else lesson_name}/{name}".encode())


def start_labs(**named_settings: dict) -> dict[str, LabServer]:
    """Start several lab servers at once, ``start_labs(rs256={"algorithm": "RS256"}, ...)``; return them by name.

    Each starts as with ``start_lab``; they start side by side, which takes about as long as starting one.
    """
    with ThreadPoolExecutor(max_workers=len(named_settings) or 1) as pool:
        starting = {name: pool.submit(start_lab, name, **settings) for name, settings in named_settings.items()}
    return {name: future.result() for name, future in starting.items()}


def stop_labs(*names: str) -> None:
    """Stop these lab servers (all of this notebook's if none is named) side by side, in about the time of one.

    Each stop waits for its server to exit. (When Python exits, labserver stops whatever still runs, side by
    side as well.)
    """
    threads = [threading.Thread(target=stop_lab, args=(name,)) for name in names or list(_labs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()



def stop_lab(name: str | None = None) -> None:
    """Stop the lab server called ``name``, or every lab server this notebook started."""
    for key in [name] if name else list(_labs):
        server = _labs.pop(key, None)
        if server is not None:
            server.stop()


# --- servers for checking answers -------------------------------------------------------------------

_CHECK = "exercise-check"  # the name prefix of fresh_lab's servers


def fresh_lab(**settings) -> LabServer:
    """A lab server for checking answers, separate from the notebook's own labs, reset before each use.

    It is as if just started: empty store, seeded users, clock at COURSE_START. One server per set of
    ``settings`` starts on first use (half a second) and is reset at every later use (milliseconds), so
    nothing carries over from one check to the next. Like every lab server, it stops when Python exits.
    """
    name = _CHECK + "".join(f"-{key}-{value}" for key, value in sorted(settings.items()))
    server = _labs.get(name)
    if server is None or not server.running:
        # Out of the answer's reach: it is given the lab's URL, and the lab secret is in no file for it to find.
        return start_lab(name, lab_secret_file="", **settings)
    server.reset()
    server.clock.set(COURSE_START)
    return server


def stop_fresh_labs() -> None:
    """Stop the servers fresh_lab started (they also stop when Python exits)."""
    for name in [name for name in _labs if name.startswith(_CHECK)]:
        stop_lab(name)
