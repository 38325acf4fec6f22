"""What authentication costs per request, how fast a lab server starts, and a peer to compare with.

    .venv/bin/python benchmarks/bench_routes.py            # about 1.5 minutes on 2 cores
    .venv/bin/python benchmarks/bench_routes.py --quick    # shorter windows, for a smoke run
    .venv/bin/python benchmarks/bench_routes.py --auth-only --repeats 5   # the HS256 route alone (~40 s)

Throughput is measured with wrk (``apt-get install wrk``): 16 keep-alive connections from one wrk thread,
loopback only. On a 2-core machine the server under test is pinned to one core and wrk to the other, so
neither steals the other's CPU. Servers: one lab server per algorithm, one HS256 lab server with the
denylist on, and the peer (``peer_tutorial_app.py``: FastAPI's security tutorial, PyJWT in a dependency).
Every route is measured in windows of ``--seconds``, interleaved route by route and repeated ``--repeats``
times; the table shows the median requests/s, and the ratio to ``GET /api/hello`` on the HS256 lab server
measured in the same rounds, which cancels out most machine noise. Beside it, the server's own CPU time per
request (from /proc, over the same windows), whose ratio is the throughput ratio a dedicated core would
give: it moves much less when other programs share the machine.

Start times: the first ``labserver.start()`` in this process (it connects to the fork server, or starts
it), then the median of ``--starts`` more, one at a time, each stopped before the next; then four started
side by side.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import labserver  # noqa: E402

ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
AUTH_TARGET = 0.9     # the fully checked HS256 route at >= 0.9 x the unauthenticated route
START_TARGET = 0.1    # seconds from labserver.start() to ready, after the first start in a process
CONNECTIONS = 16


def wrk(port: int, path: str, headers: dict[str, str], seconds: int, server_pid: int) -> tuple[float, float]:
    """Requests/s of ``path`` under wrk, and the server's CPU seconds per request; every answer must be 200."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", f"http://127.0.0.1:{port}{path}"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    cpu_before = cpu_seconds(server_pid)
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 30,
                         preexec_fn=_pin(1)).stdout
    cpu = cpu_seconds(server_pid) - cpu_before
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"GET {path} did not answer 200 to every request:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), cpu / requests


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pin(cpu: int):
    """Pin a process to one CPU (when the machine has two or more): server and load generator apart."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return None
    return lambda: os.sched_setaffinity(0, {cpus[cpu]})


def pin_server(pid: int) -> None:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) >= 2:
        os.sched_setaffinity(pid, {cpus[0]})


def access_token(server) -> str:
    response = server.http.post(server.url + "/oauth/token", timeout=10, data={
        "grant_type": "password", "username": "alice", "password": "alice-password"})
    response.raise_for_status()
    return response.json()["access_token"]


def session_cookie(server) -> str:
    response = server.http.post(server.url + "/session/login", timeout=10,
                                data={"username": "alice", "password": "alice-password"})
    response.raise_for_status()
    return f"session={response.cookies['session']}"


class Peer:
    """The tutorial app in a process of its own, pinned like the lab servers."""

    def __enter__(self) -> "Peer":
        self.process = subprocess.Popen([sys.executable, str(HERE / "peer_tutorial_app.py")],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())
        sys.path.insert(0, str(HERE))
        from peer_tutorial_app import create_access_token

        self.token = create_access_token({"sub": "johndoe"}, expires_delta=None)
        return self

    def __exit__(self, *exc) -> None:
        self.process.stdin.close()
        self.process.wait(10)
        self.process.stdout.close()


def measure_routes(seconds: int, repeats: int, auth_only: bool = False) -> dict[str, tuple[float, float]]:
    """Median requests/s and server CPU seconds per request, per route, measured interleaved in the same rounds."""
    algorithms = ("HS256",) if auth_only else ALGORITHMS
    servers = {alg: labserver.start(algorithm=alg) for alg in algorithms}
    servers["denylist"] = labserver.start(denylist=True)
    try:
        with Peer() as peer:
            for server in servers.values():
                pin_server(server.process.pid)
            pin_server(peer.process.pid)
            hs = servers["HS256"]
            routes = {"GET /api/hello (no auth)": (hs, "/api/hello", {}),
                      "GET /session/me (cookie session)": (hs, "/session/me", {"Cookie": session_cookie(hs)})}
            if auth_only:  # the same request bytes as /api/me, so the difference is what the server does
                del routes["GET /session/me (cookie session)"]
                routes["GET /api/hello + bearer header"] = (hs, "/api/hello",
                                                            {"Authorization": f"Bearer {access_token(hs)}"})
            for alg in algorithms:
                routes[f"GET /api/me ({alg})"] = (servers[alg], "/api/me",
                                                  {"Authorization": f"Bearer {access_token(servers[alg])}"})
            dl = servers["denylist"]
            routes["GET /api/me (HS256 + denylist)"] = (dl, "/api/me", {"Authorization": f"Bearer {access_token(dl)}"})
            if not auth_only:
                routes["peer GET /hello (no auth)"] = (peer, "/hello", {})
                routes["peer GET /users/me/ (tutorial)"] = (peer, "/users/me/",
                                                            {"Authorization": f"Bearer {peer.token}"})
            for server, path, headers in routes.values():  # warm up: connections, caches, parsed keys
                wrk(server.port, path, headers, 1, server.process.pid)
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in routes}
            for _ in range(repeats):
                for name, (server, path, headers) in routes.items():
                    samples[name].append(wrk(server.port, path, headers, seconds, server.process.pid))
    finally:
        for server in servers.values():
            server.stop()
    return {name: (statistics.median(rate for rate, _cpu in values), statistics.median(cpu for _rate, cpu in values))
            for name, values in samples.items()}


def start_times(count: int) -> tuple[float, list[float], float, float, list[float]]:
    """The first start in this process, later starts one at a time, four side by side, a start's CPU time,
    and the stops (``stop()`` until the server process has ended)."""
    started = time.perf_counter()
    first = labserver.start()
    first_time = time.perf_counter() - started
    first.stop()
    times, cpu, stops = [], [], []
    for _ in range(count):
        started = time.perf_counter()
        server = labserver.start()
        times.append(time.perf_counter() - started)
        cpu.append(cpu_seconds(server.process.pid))  # what the server spent to get ready (all its threads)
        server.http.get(server.url + "/api/hello")  # a kept-alive connection, as a lesson leaves one
        started = time.perf_counter()
        server.stop()
        stops.append(time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        servers = list(pool.map(lambda _: labserver.start(), range(4)))
    side_by_side = time.perf_counter() - started
    for server in servers:
        server.stop()
    return first_time, times, side_by_side, statistics.median(cpu), stops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=2, help="length of one wrk window, whole seconds (2)")
    parser.add_argument("--repeats", type=int, default=3, help="windows per route; the median is shown (3)")
    parser.add_argument("--starts", type=int, default=15, help="lab server starts to time (15)")
    parser.add_argument("--quick", action="store_true", help="1 s windows, 1 repeat, 5 starts")
    parser.add_argument("--auth-only", action="store_true",
                        help="only /api/hello (also with a bearer header) and HS256 /api/me (also with the denylist)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.repeats, args.starts = 1, 1, 5

    print(f"lab server benchmarks, {date.today()}, Python {platform.python_version()}, {platform.machine()} "
          f"with {_cpus()} CPUs, load average {os.getloadavg()[0]:.1f}")
    verdicts = []

    if not args.auth_only:
        first, times, side_by_side, cpu, stops = start_times(args.starts)
        median = statistics.median(times)
        print(f"\nlabserver.start() to ready: first in this process {first:.3f} s "
              "(connects to the fork server, or starts it); "
              f"then median {median * 1000:.0f} ms of {len(times)} (min {min(times) * 1000:.0f}, "
              f"max {max(times) * 1000:.0f}); 4 side by side {side_by_side * 1000:.0f} ms; "
              f"CPU a server spends to get ready: median {cpu * 1000:.0f} ms")
        print(f"lab.stop() until the process has ended: median {statistics.median(stops) * 1000:.0f} ms "
              f"(max {max(stops) * 1000:.0f})")
        verdicts.append(("start-to-ready after the first (median)", f"{median * 1000:.0f} ms",
                         f"< {START_TARGET * 1000:.0f} ms", median < START_TARGET))

    if shutil.which("wrk") is None:
        print("\nwrk is not installed (apt-get install wrk): no throughput figures.")
    else:
        results = measure_routes(args.seconds, args.repeats, args.auth_only)
        baseline, base_cpu = results["GET /api/hello (no auth)"]
        print(f"\nthroughput: wrk -t1 -c{CONNECTIONS}, median of {args.repeats} x {args.seconds} s, "
              "server and wrk pinned to one core each\n")
        print(f"{'route':<34} {'requests/s':>11} {'vs /api/hello':>14}   {'server CPU us/req':>17} {'vs /api/hello':>14}")
        for name, (rate, cpu) in results.items():
            print(f"{name:<34} {rate:>11.0f} {rate / baseline:>13.2f}x   {cpu * 1e6:>17.0f} {base_cpu / cpu:>13.2f}x")
        hs256, hs256_cpu = results["GET /api/me (HS256)"]
        peer, peer_cpu = results.get("peer GET /users/me/ (tutorial)", (None, None))
        for measure, route, tutorial in (
                ("requests/s", hs256 / baseline, peer and hs256 / peer),
                ("server CPU", base_cpu / hs256_cpu, peer_cpu and peer_cpu / hs256_cpu)):
            verdicts.append((f"HS256 route / unauthenticated ({measure})", f"{route:.2f}x", f">= {AUTH_TARGET}x",
                             route >= AUTH_TARGET))
            if tutorial is not None:
                verdicts.append((f"HS256 route / tutorial peer ({measure})", f"{tutorial:.2f}x", ">= 1.0x",
                                 tutorial >= 1.0))
    print()
    for what, got, target, ok in verdicts:
        print(f"{what:<52} {got:>8}   target {target:<9} {'met' if ok else 'MISSED'}")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
