"""coursekit.labtools.lab stops a notebook's lab servers side by side: when asked, and when Python exits."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

from coursekit.labtools import lab as labs


class SlowStop:
    """A stand-in for a lab server whose stop waits until every other one has begun stopping too."""

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier
        self.stopped = False

    def stop(self) -> None:
        self.barrier.wait(timeout=5)  # raises BrokenBarrierError if the stops run one after another
        self.stopped = True


def test_stop_labs_stops_every_named_server_side_by_side(monkeypatch):
    barrier = threading.Barrier(3)
    servers = {name: SlowStop(barrier) for name in ("one", "two", "three")}
    monkeypatch.setattr(labs, "_labs", dict(servers, untouched=SlowStop(threading.Barrier(1))))

    labs.stop_labs("one", "two", "three")

    assert all(server.stopped for server in servers.values())
    assert list(labs._labs) == ["untouched"]


def test_stop_labs_without_names_stops_all_of_them(monkeypatch):
    barrier = threading.Barrier(2)
    servers = {name: SlowStop(barrier) for name in ("one", "two")}
    monkeypatch.setattr(labs, "_labs", dict(servers))

    labs.stop_labs()

    assert all(server.stopped for server in servers.values()) and labs._labs == {}


def test_when_python_exits_every_lab_stops_and_nothing_is_printed(tmp_path):
    program = textwrap.dedent("""
        from coursekit.labtools.lab import start_labs
        labs = start_labs(first={}, second={}, third={})
        print(" ".join(str(server.process.pid) for server in labs.values()), flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "JWT_COURSE_PROGRESS": "off"})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no error from an exit handler (e.g. a thread pool refusing work at exit)
    for pid in map(int, done.stdout.split()):
        assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1][:3]
