"""Request throughput per authentication method, and start-up time, of real lab server processes.

    .venv/bin/python benchmarks/bench_routes.py            # about a minute on 2 cores
    .venv/bin/python benchmarks/bench_routes.py --quick    # shorter windows, for a smoke run

For each algorithm a server is started with ``labserver.start(algorithm=...)`` and one client thread sends
GET requests back to back over one keep-alive ``http.client`` connection (loopback): no proxy, no
``requests`` overhead, one request in flight at a time. On a 2-core machine that leaves one core to the
server's event loop and one to the client, which gives steadier figures than several client threads
competing with the server for the same two cores.

Measured on the same server, interleaved, in windows of ``--seconds`` each, repeated ``--repeats`` times:
``GET /api/hello`` (no credentials: the baseline), ``GET /api/me`` with a bearer access token, and on the
HS256 server ``GET /session/me`` with a session cookie. The table shows the median requests/s and its
ratio to the baseline of the same server, which cancels out most machine noise.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import labserver  # noqa: E402

ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
HS256_TARGET = 0.9   # the HS256 route should cost at most ~10 % more than an unauthenticated one
START_TARGET = 1.5   # seconds from labserver.start() to a server that answers


def throughput(port: int, path: str, headers: dict[str, str], seconds: float) -> float:
    """Requests per second for ``path`` over one keep-alive connection, for about ``seconds``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for _ in range(50):  # warm up: connection, route lookup, key parsing
            _get(conn, path, headers)
        count, started = 0, time.perf_counter()
        deadline = started + seconds
        while True:
            for _ in range(50):
                _get(conn, path, headers)
            count += 50
            now = time.perf_counter()
            if now >= deadline:
                return count / (now - started)
    finally:
        conn.close()


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> None:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}: {body[:200]!r}")


def access_token(server: labserver.LabServer) -> str:
    response = server.http.post(server.url + "/oauth/token", timeout=10, data={
        "grant_type": "password", "username": "alice", "password": "alice-password"})
    response.raise_for_status()
    return response.json()["access_token"]


def session_cookie(server: labserver.LabServer) -> str:
    response = server.http.post(server.url + "/session/login", timeout=10,
                                data={"username": "alice", "password": "alice-password"})
    response.raise_for_status()
    return f"session={response.cookies['session']}"


def measure_algorithm(algorithm: str, seconds: float, repeats: int) -> dict[str, float]:
    """Median requests/s of each route on one server with this algorithm."""
    with labserver.start(algorithm=algorithm) as server:
        routes = {"GET /api/hello": ("/api/hello", {}),
                  f"GET /api/me ({algorithm})": ("/api/me", {"Authorization": f"Bearer {access_token(server)}"})}
        if algorithm == "HS256":
            routes["GET /session/me (cookie)"] = ("/session/me", {"Cookie": session_cookie(server)})
        samples: dict[str, list[float]] = {name: [] for name in routes}
        for _ in range(repeats):  # interleaved, so a slow moment of the machine hits every route alike
            for name, (path, headers) in routes.items():
                samples[name].append(throughput(server.port, path, headers, seconds))
        return {name: statistics.median(values) for name, values in samples.items()}


def start_times(count: int) -> list[float]:
    """Seconds from calling labserver.start() to holding the handle of a server that answers."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        server = labserver.start()
        times.append(time.perf_counter() - started)
        server.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one measurement window (1.0)")
    parser.add_argument("--repeats", type=int, default=5, help="windows per route; the median is shown (5)")
    parser.add_argument("--starts", type=int, default=5, help="server starts to time (5)")
    parser.add_argument("--quick", action="store_true", help="0.3 s windows, 3 repeats, 3 starts")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.repeats, args.starts = 0.3, 3, 3

    print(f"lab server throughput, {date.today()}, Python {platform.python_version()}, "
          f"{platform.machine()} with {_cpus()} CPUs; 1 client thread, 1 keep-alive connection, "
          f"median of {args.repeats} x {args.seconds:g} s")
    print()
    print(f"{'route':<28} {'requests/s':>11} {'vs /api/hello':>14}")
    verdicts = []
    for algorithm in ALGORITHMS:
        results = measure_algorithm(algorithm, args.seconds, args.repeats)
        baseline = results["GET /api/hello"]
        for name, rate in results.items():
            label = name if name != "GET /api/hello" else f"GET /api/hello ({algorithm} srv)"
            print(f"{label:<28} {rate:>11.0f} {rate / baseline:>13.2f}x")
            if name == "GET /api/me (HS256)":
                verdicts.append(("HS256 route / unauthenticated", f"{rate / baseline:.2f}x",
                                 f">= {HS256_TARGET}x", rate / baseline >= HS256_TARGET))
    times = start_times(args.starts)
    median = statistics.median(times)
    verdicts.append(("start-to-ready (median)", f"{median:.2f} s", f"<= {START_TARGET} s", median <= START_TARGET))
    print()
    print(f"labserver.start() to ready: median {median:.2f} s of {len(times)} "
          f"(min {min(times):.2f}, max {max(times):.2f})")
    print()
    for what, got, target, ok in verdicts:
        print(f"{what:<32} {got:>8}   target {target:<8} {'met' if ok else 'MISSED'}")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
