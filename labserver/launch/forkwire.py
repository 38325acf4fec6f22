"""What goes between a program and its fork server (labserver.launch.forkserver) over their socket.

A request is JSON (the server's argv, the caller's working directory, environment and umask) with four
descriptors passed along (SCM_RIGHTS): the server's lifeline (its stdin), its ready pipe (stdout), its log
(stderr) and the pipe on which the fork server reports its exit status. The answer is JSON (its pid, or an
error) with the server's pidfd.
"""

from __future__ import annotations

import selectors
import struct

MAX_MESSAGE = 1024 * 1024  # settings are a few hundred bytes; the caller's environment a few kilobytes
STATUS = struct.Struct("i")  # a server's exit status, as the fork server writes it on the status pipe


def readable(fd, timeout: float | None) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        return bool(selector.select(timeout))


def valid(request) -> bool:
    return (isinstance(request, dict)
            and isinstance(request.get("argv"), list) and all(isinstance(a, str) for a in request["argv"])
            and (request.get("cwd") is None or isinstance(request["cwd"], str))
            and (request.get("umask") is None or isinstance(request["umask"], int))
            and isinstance(request.get("env"), dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in request["env"].items()))
