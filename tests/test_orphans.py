"""A lab server never outlives the Python process that started it, however that process ends.

Each test runs a *parent* Python process that calls labserver.start() and reports its server's PID and
URL, then ends the parent one way or another and watches the server go.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

PARENT = """
import json, os, sys, time
import labserver

how, workdir = sys.argv[1], sys.argv[2] or None
server = labserver.start(workdir=workdir)
print(json.dumps({"pid": server.process.pid, "url": server.url, "folder": str(server.folder)}), flush=True)
if how == "sleep":
    time.sleep(60)
elif how == "os._exit":
    os._exit(0)  # no atexit handlers, no stop(): only the closing pipe tells the server
# "return": the script ends without calling stop()
"""

DEADLINE = 10.0


def start_parent(how: str, workdir: Path | None = None) -> tuple[subprocess.Popen, dict]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, how, str(workdir or "")],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = parent.stdout.readline()  # the parent prints its server's details once start() has returned
    assert line, parent.communicate(timeout=DEADLINE)
    return parent, json.loads(line)


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting for whoever adopted it to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone before the open, or between the open and the read
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def is_lab_server(pid: int) -> bool:
    try:
        return b"labserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_until_gone(pid: int, timeout: float = DEADLINE) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def reap():
    """Make sure no server outlives a failed test: kill the ones still alive at the end, by PID."""
    pids: list[int] = []
    yield pids.append
    for pid in pids:
        if alive(pid) and is_lab_server(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_server_whose_parent_is_killed_with_sigkill_exits_within_seconds(tmp_path, reap):
    parent, server = start_parent("sleep", workdir=tmp_path)
    reap(server["pid"])
    assert is_lab_server(server["pid"]) and answers(server["url"])

    parent.send_signal(signal.SIGKILL)
    assert parent.wait(timeout=DEADLINE) == -signal.SIGKILL

    assert wait_until_gone(server["pid"]), "the orphaned server is still running"
    assert not answers(server["url"])
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log
    parent.stdout.close()
    parent.stderr.close()


def test_a_server_whose_parent_ends_with_os_exit_exits_too(tmp_path, reap):
    parent, server = start_parent("os._exit", workdir=tmp_path)
    reap(server["pid"])

    assert parent.wait(timeout=DEADLINE) == 0

    assert wait_until_gone(server["pid"]), "the orphaned server is still running"
    assert not answers(server["url"])
    parent.stdout.close()
    parent.stderr.close()


def test_a_parent_that_returns_without_stop_takes_its_server_and_temporary_folder_with_it(reap):
    parent, server = start_parent("return")
    reap(server["pid"])

    out, err = parent.communicate(timeout=DEADLINE)

    assert (parent.returncode, out, err) == (0, "", "")
    # atexit stopped it: the server is gone already, not merely on its way out.
    assert not alive(server["pid"])
    assert not answers(server["url"])
    assert not Path(server["folder"]).exists()


def test_a_server_whose_parent_is_killed_removes_the_temporary_folder_start_made(reap):
    parent, server = start_parent("sleep")
    reap(server["pid"])
    assert Path(server["folder"]).exists()

    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=DEADLINE)

    assert wait_until_gone(server["pid"]), "the orphaned server is still running"
    assert not Path(server["folder"]).exists(), "a killed parent's server left its temporary folder behind"
    parent.stdout.close()
    parent.stderr.close()
