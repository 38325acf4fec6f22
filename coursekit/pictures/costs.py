"""What each way of authenticating a request costs, measured on this machine, and a chart of it.

    costs = measure_costs()      # {"no auth": 0.00031, "cookie session": 0.00052, "HS256": ...} seconds
    fig = plot_costs(costs)

Six lab servers start side by side: one per algorithm, and two more HS256 ones, one with the denylist on and
one that remembers verified tokens. Then one client sends GET requests one after another over one keep-alive
connection per server, the way an app talks to its API: the time per request is what the client waits, round
trip included. Every kind of request gets the same fixed number, REQUESTS, after a few to warm up. They are
sent in turns (a few requests of each kind, then again), and each kind gets the median of its turns, so a busy
moment of the machine falls on every kind alike and one busy turn does not count. About a second in all.

Why REQUESTS = 75 is enough (lesson 05 says it too): one request takes a few hundred microseconds, and the
average of 15 moves by tens of microseconds from one turn to the next, by hundreds when another program takes
the processor; the median of 5 turns is moved by neither, as long as no more than two turns are spoiled. The
differences the chart is about are 50 microseconds and more. The chart draws every turn as a tick on its bar,
so the spread can be seen rather than taken on trust.
"""

from __future__ import annotations

import http.client
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from coursekit.labtools.client import http_session, log_in
from coursekit.labtools.lab import start_labs, stop_labs

# What is measured, in the chart's order: (label, lab name, route, how the request is authenticated).
METHODS = (
    ("no auth", "cost-hs256", "/api/hello", None),
    ("cookie session", "cost-hs256", "/session/me", "cookie"),
    ("HS256", "cost-hs256", "/api/me", "bearer"),
    ("RS256", "cost-rs256", "/api/me", "bearer"),
    ("ES256", "cost-es256", "/api/me", "bearer"),
    ("EdDSA", "cost-eddsa", "/api/me", "bearer"),
    ("HS256 + denylist", "cost-denylist", "/api/me", "bearer"),
    ("HS256, check remembered", "cost-remembered", "/api/me", "bearer"),
)
# Every token is verified in full on every request (remember_tokens=0), except on the last server, which
# runs as lab servers do by default: a token seen before skips its signature check (labserver.tokens.verified).
_ALICE = {"users": [("alice", "alice-password", "user")]}  # one account: one password hash per server start
LABS = {"cost-hs256": {"remember_tokens": 0, **_ALICE},
        "cost-rs256": {"algorithm": "RS256", "remember_tokens": 0, **_ALICE},
        "cost-es256": {"algorithm": "ES256", "remember_tokens": 0, **_ALICE},
        "cost-eddsa": {"algorithm": "EdDSA", "remember_tokens": 0, **_ALICE},
        "cost-denylist": {"denylist": True, "remember_tokens": 0, **_ALICE},
        "cost-remembered": dict(_ALICE)}
REQUESTS = 75   # of each kind, measured: ROUNDS turns of REQUESTS // ROUNDS (see the module's docstring)
ROUNDS = 5
WARM_UP = 5     # of each kind first, not measured: connections, parsed keys, remembered tokens


class Costs(dict):
    """Seconds per request by method (the median of its turns), with every turn's figure in ``turns``."""

    def __init__(self, turns: dict[str, list[float]], requests: int) -> None:
        super().__init__({label: statistics.median(values) for label, values in turns.items()})
        self.turns = turns
        self.requests = requests  # measured requests of each kind


def measure_costs(requests: int = REQUESTS, rounds: int = ROUNDS) -> Costs:
    """Seconds per request for each method in METHODS: the median of ``rounds`` turns, ``requests`` in all."""
    per_turn = max(1, requests // rounds)
    labs = start_labs(**LABS)
    try:
        with ThreadPoolExecutor(max_workers=len(LABS) + 1) as pool:  # the logins (argon2) side by side
            logins = {name: pool.submit(log_in, labs[name], "alice") for name in LABS}
            session = pool.submit(_session_cookie, labs["cost-hs256"])
            tokens = {name: login.result()["access_token"] for name, login in logins.items()}
            cookie = session.result()
        headers = {label: {"Authorization": f"Bearer {tokens[name]}"} if auth == "bearer"
                   else {"Cookie": f"session={cookie}"} if auth == "cookie" else {}
                   for label, name, _path, auth in METHODS}
        connections = {name: http.client.HTTPConnection(urlsplit(lab.url).hostname, lab.port, timeout=10)
                       for name, lab in labs.items()}
        try:
            for label, name, path, _auth in METHODS:
                time_requests(connections[name], path, headers[label], WARM_UP)
            turns: dict[str, list[float]] = {label: [] for label, *_ in METHODS}
            for _ in range(rounds):
                for label, name, path, _auth in METHODS:
                    turns[label].append(time_requests(connections[name], path, headers[label], per_turn))
        finally:
            for connection in connections.values():
                connection.close()
    finally:
        stop_labs(*LABS)
    return Costs(turns, per_turn * rounds)


def _session_cookie(lab) -> str:
    """Log alice in with a cookie session (a client of its own, beside the token logins); return the session id."""
    with http_session() as client:
        r = client.post(lab.url + "/session/login", timeout=10, data={"username": "alice", "password": "alice-password"})
        r.raise_for_status()
        return r.cookies["session"]


def time_requests(connection: http.client.HTTPConnection, path: str, headers: dict, count: int) -> float:
    """Seconds per GET request of ``path``, over ``count`` requests; every answer must be a 200."""
    started = time.perf_counter()
    for _ in range(count):
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:200]!r}")
    return (time.perf_counter() - started) / count


def plot_costs(costs: dict[str, float]):
    """A bar per method: microseconds per request, and what authentication adds to the unauthenticated one.

    Given what measure_costs returns, each bar also shows every turn it is the median of, as a tick.
    """
    import matplotlib.pyplot as plt  # here, so that measuring does not import matplotlib

    labels = list(costs)
    micros = [costs[label] * 1e6 for label in labels]
    base = costs.get("no auth")
    fig, ax = plt.subplots(figsize=(8, 3.2))
    colors = ["#999999" if label == "no auth" else "#c44e52" if "denylist" in label or "cookie" in label
              else "#8fb0d8" if "remembered" in label else "#4c72b0" for label in labels]
    bars = ax.barh(labels, micros, color=colors)
    ax.invert_yaxis()
    turns = {label: [seconds * 1e6 for seconds in values] for label, values in getattr(costs, "turns", {}).items()}
    for bar, label in zip(bars, labels):
        ticks = turns.get(label, [])
        ax.plot(ticks, [label] * len(ticks), "|", color="black", markersize=9)
        note = f" +{(costs[label] - base) * 1e6:.0f} µs" if base and label != "no auth" else ""
        at = (max([bar.get_width(), *ticks]), bar.get_y() + bar.get_height() / 2)  # right of the bar and ticks
        ax.annotate(f"{bar.get_width():.0f} µs{note}", at, xytext=(4, 0), textcoords="offset points", va="center",
                    fontsize=8)
    ax.set_xlim(0, max(micros + [tick for ticks in turns.values() for tick in ticks]) * 1.35)
    ax.set_xlabel("time per request on this machine (µs, one client, keep-alive)" + (
        f"\n{costs.requests} requests of each kind in {len(next(iter(turns.values())))} turns: a tick per turn, "
        "the bar their median" if turns else ""))
    ax.set_title("What checking a request costs: blue a signature, red a store lookup")
    fig.tight_layout()
    return fig
