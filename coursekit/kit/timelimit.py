"""Run a learner's code under a time limit, and stop it if it overruns: a loop in an answer must not outlive
its check, nor keep the notebook's next cell waiting.

A Python thread cannot be killed, but it can be interrupted: ``PyThreadState_SetAsyncExc`` raises an exception
in it at its next bytecode. The exception, ``Stopped``, derives from BaseException so that an answer's
``except Exception: continue`` does not swallow it, and it is raised again until the thread ends (a bare
``except:`` swallows one). A thread blocked inside C (waiting forever on a lock) runs no bytecode: it cannot
be interrupted, but it uses no processor either; the report then says it is still waiting.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from coursekit.kit.verdicts import Incorrect

__all__ = ["Stopped", "run_limited", "stop_thread"]

# How long to keep interrupting an overrunning thread before reporting it as stuck.
STOP_GRACE = 2.0


class Stopped(BaseException):
    """Raised inside an answer's thread when its check stops it for running past its time limit."""


def stop_thread(thread: threading.Thread, grace: float = STOP_GRACE) -> bool:
    """Interrupt thread with Stopped until it ends (at most grace seconds); return whether it ended.

    Stopped may land in a finaliser (``__del__``) the thread happens to run, where Python cannot raise it and
    reports it as "unraisable": meanwhile such reports of Stopped are dropped, not printed into the notebook.
    """
    previous = sys.unraisablehook

    def quiet(unraisable) -> None:
        if unraisable.exc_type is not Stopped:
            previous(unraisable)

    sys.unraisablehook = quiet
    try:
        deadline = time.monotonic() + grace
        while thread.is_alive() and time.monotonic() < deadline:
            if thread.ident is not None:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(Stopped))
            thread.join(0.2)  # once is enough unless the answer swallowed it (a bare except:)
    finally:
        if sys.unraisablehook is quiet:
            sys.unraisablehook = previous
    return not thread.is_alive()


def run_limited(seconds: float, action: Callable[[], Any], what: str,
                stop_when: Callable[[], str | None] | None = None) -> Any:
    """Return action()'s result; if it runs past ``seconds``, stop it and raise Incorrect saying so.

    ``stop_when``, asked ten times a second meanwhile, may end it sooner: it returns why (the lab saw a loop:
    its budget of token requests is spent), and the answer is stopped and Incorrect raised with that reason.
    """
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = action()
        except Stopped:
            pass
        except BaseException as error:  # noqa: BLE001 - handed back to the caller below
            result["error"] = error

    worker = threading.Thread(target=run, daemon=True, name=f"answer: {what}")
    worker.start()
    deadline = time.monotonic() + seconds
    while worker.is_alive() and time.monotonic() < deadline:
        worker.join(min(0.1, max(0.0, deadline - time.monotonic())))
        reason = stop_when() if stop_when is not None and worker.is_alive() else None
        if reason:
            stopped = stop_thread(worker)
            raise Incorrect(f"{reason}. {'It was stopped' if stopped else 'It could not be interrupted'}")
    if worker.is_alive():
        raise Incorrect(overran(what, seconds, stop_thread(worker)))
    if "error" in result:
        error = result["error"]
        if isinstance(error, Exception):
            raise error
        # SystemExit, KeyboardInterrupt, GeneratorExit: they end a program, and an answer is not one.
        raise Incorrect(f"{what}: your code raised {type(error).__name__} (it ends a program, not an answer: "
                        "return a value, or raise an ordinary exception)") from error
    if "value" not in result:  # only this function stops a worker, and then it has raised above
        raise Incorrect(f"{what}: your code raised Stopped itself, which only the time limit may raise")
    return result["value"]


def overran(what: str, seconds: float, stopped: bool) -> str:
    """What a learner reads when their code ran past its limit: why, and what became of it."""
    end = ("it was stopped" if stopped else
           "it could not be interrupted: it is waiting inside a lock or a socket, in the background, and uses no "
           "processor")
    return f"{what} did not return within {seconds:g} s (a loop, or a lock that is never released?): {end}"
