"""The first lab start in each new Python process (each kernel), with one shared fork server or one per process.

    python benchmarks/bench_first_start.py               # 6 programs one after another, in each mode
    python benchmarks/bench_first_start.py --programs 10

Each program is a fresh ``python`` that imports labserver, starts one lab, stops it and exits, one after
another, as notebook kernels do in a test run. Measured in each: the time of its first ``labserver.start()``
(after importing ``labserver.launch.handle`` and with it ``requests``, as ``coursekit.labtools.lab`` does on import).
Shared (the default): the first program starts the fork server, every later one connects to it. Private
(``LABSERVER_FORKSERVER=private``, how it was before): every program starts a fork server of its own and
waits for its imports. Each mode runs in a runtime folder of its own (``XDG_RUNTIME_DIR``), so a fork server
already running for the user is not used. CPU: all the programs and the fork servers together (the
programs' own, their fork servers' and lab servers'), which does not depend on what else runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRAM = """
import json, time
import labserver
import labserver.launch.handle  # start() itself, and requests: a notebook has imported them before its first lab
from labserver.launch import forkclient

started = time.perf_counter()
lab = labserver.start()
took = time.perf_counter() - started
ours = forkclient.fork_server()
print(json.dumps({"first_start": took, "fork_server": ours.pid if ours.pid else ours.process.pid,
                  "started_it": ours.process is not None}))
lab.stop()
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_programs(mode: str, count: int) -> tuple[list[dict], float]:
    runtime = tempfile.mkdtemp(prefix="bench-")
    env = {**os.environ, "XDG_RUNTIME_DIR": runtime, "LABSERVER_FORKSERVER": mode,
           "LABSERVER_FORKSERVER_IDLE": "60"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    reports = []
    try:
        for _ in range(count):
            done = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True,
                                  check=True, cwd=runtime)
            reports.append(json.loads(done.stdout))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if mode == "shared":  # not a child of ours, still running: its CPU so far (imports included)
            shared = {r["fork_server"] for r in reports}
            cpu += sum(cpu_seconds(pid) for pid in shared)
            for pid in shared:
                os.kill(pid, 9)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    return reports, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=6, help="programs one after another, in each mode (6)")
    count = parser.parse_args().programs
    print(f"first labserver.start() in each of {count} new Python processes, one after another; "
          f"load average {os.getloadavg()[0]:.1f}\n")
    for mode in ("shared", "private"):
        time.sleep(0.5)
        reports, cpu = run_programs(mode, count)
        times = [r["first_start"] for r in reports]
        later = times[1:] or times
        servers = len({r["fork_server"] for r in reports})
        print(f"{mode:8} first program {times[0] * 1000:5.0f} ms; "
              f"later programs median {statistics.median(later) * 1000:4.0f} ms "
              f"(min {min(later) * 1000:.0f}, max {max(later) * 1000:.0f}); fork servers started: "
              f"{sum(r['started_it'] for r in reports)} ({servers} distinct); CPU of everything {cpu:.2f} s")


if __name__ == "__main__":
    main()
