"""What the fork server process loads once, and what each child it forks becomes: a lab server.

Used by labserver.launch.forkserver; nothing here runs in the program that starts servers.
"""

from __future__ import annotations

import os
import sys


def preload() -> None:
    """Import everything a lab server imports, including what uvicorn imports only once it runs."""
    import uvicorn

    import labserver.launch.cli  # noqa: F401
    import labserver.launch.serve  # noqa: F401

    async def nothing(scope, receive, send) -> None:  # an ASGI app, only to let uvicorn load its parts
        pass

    from labserver.accounts.passwords import dummy_hash

    dummy_hash()  # made once here, inherited by every server
    config = uvicorn.Config(nothing, log_level="warning", access_log=False, lifespan="off")
    config.load()  # imports the HTTP protocol (h11 or httptools) and the lifespan class
    if hasattr(config, "get_loop_factory"):
        config.get_loop_factory()  # imports the event loop (asyncio or uvloop)


def serve_child(request: dict, lifeline: int, ready: int, log: int) -> None:
    """Become ``python -m labserver ARGV``, run by the caller, in a freshly forked child; never returns."""
    code = 1
    try:
        os.setsid()
        os.dup2(lifeline, 0)
        os.dup2(ready, 1)
        os.dup2(log, 2)
        # Nothing of the fork server's: not its sockets (other callers'), not other servers' status pipes.
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        # The caller's working directory, umask and environment, as they were when it called start().
        if request["cwd"] is not None:
            os.chdir(request["cwd"])
        if request["umask"] is not None:
            os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        import atexit

        atexit._clear()  # the fork server's exit handlers are not ours
        from labserver.launch.cli import main

        try:
            main(request["argv"])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            atexit._run_exitfuncs()  # e.g. remove the temporary folder, as a normal exit would
    except BaseException:  # noqa: BLE001 - whatever happens, report it in the log and leave
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)

