"""What each way of authenticating a request costs, measured on this machine, and a chart of it.

    costs = measure_costs()      # {"no auth": 0.00031, "cookie session": 0.00052, "HS256": ...} seconds
    fig = plot_costs(costs)

One lab server per algorithm starts, then two replicas of the HS256 one (same key): one with the denylist
on, one that remembers verified tokens. Then one client sends
GET requests one after another over one keep-alive connection, the way an app talks to its API: the
time per request is what the client waits, round trip included. The methods are measured in turns,
a few rounds each, and each gets the median of its rounds, so a busy moment of the machine does not fall
on one method only. About a second in all.
"""

from __future__ import annotations

import http.client
import statistics
import time
from urllib.parse import urlsplit

from coursekit.client import log_in
from coursekit.lab import start_labs, stop_lab

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
# runs as lab servers do by default: a token seen before skips its signature check (labserver.verified).
_ALICE = {"users": [("alice", "alice-password", "user")]}  # one account: one password hash per server start
LABS = {"cost-hs256": {"remember_tokens": 0, **_ALICE},
        "cost-rs256": {"algorithm": "RS256", "remember_tokens": 0, **_ALICE},
        "cost-es256": {"algorithm": "ES256", "remember_tokens": 0, **_ALICE},
        "cost-eddsa": {"algorithm": "EdDSA", "remember_tokens": 0, **_ALICE}}
# Replicas of cost-hs256 (same key, same issuer): its access token works there too, one login fewer each.
REPLICAS = {"cost-denylist": {"denylist": True, "remember_tokens": 0, **_ALICE}, "cost-remembered": dict(_ALICE)}


def measure_costs(requests: int = 25, rounds: int = 3) -> dict[str, float]:
    """Seconds per request for each method in METHODS: the median of ``rounds`` turns of ``requests`` each."""
    labs = start_labs(**LABS)
    try:
        labs.update(start_labs(**{name: {**settings, "share_keys_with": labs["cost-hs256"]}
                                  for name, settings in REPLICAS.items()}))
        tokens = {name: log_in(labs[name], "alice")["access_token"] for name in LABS}
        for name in REPLICAS:
            tokens[name] = tokens["cost-hs256"]
        headers = {}
        for label, name, _path, auth in METHODS:
            lab = labs[name]
            if auth == "bearer":
                headers[label] = {"Authorization": f"Bearer {tokens[name]}"}
            elif auth == "cookie":
                r = lab.http.post(lab.url + "/session/login", timeout=10,
                                  data={"username": "alice", "password": "alice-password"})
                r.raise_for_status()
                headers[label] = {"Cookie": f"session={r.cookies['session']}"}
            else:
                headers[label] = {}
        connections = {name: http.client.HTTPConnection(urlsplit(lab.url).hostname, lab.port, timeout=10)
                       for name, lab in labs.items()}
        try:
            for label, name, path, _auth in METHODS:  # warm up: connections, parsed keys, remembered tokens
                time_requests(connections[name], path, headers[label], 5)
            turns: dict[str, list[float]] = {label: [] for label, *_ in METHODS}
            for _ in range(rounds):
                for label, name, path, _auth in METHODS:
                    turns[label].append(time_requests(connections[name], path, headers[label], requests))
        finally:
            for connection in connections.values():
                connection.close()
    finally:
        for name in (*REPLICAS, *LABS):
            stop_lab(name)
    return {label: statistics.median(values) for label, values in turns.items()}


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
    """A bar per method: microseconds per request, and what authentication adds to the unauthenticated one."""
    import matplotlib.pyplot as plt  # here, so that measuring does not import matplotlib

    labels = list(costs)
    micros = [costs[label] * 1e6 for label in labels]
    base = costs.get("no auth")
    fig, ax = plt.subplots(figsize=(8, 3.2))
    colors = ["#999999" if label == "no auth" else "#c44e52" if "denylist" in label or "cookie" in label
              else "#8fb0d8" if "remembered" in label else "#4c72b0" for label in labels]
    bars = ax.barh(labels, micros, color=colors)
    ax.invert_yaxis()
    for bar, label in zip(bars, labels):
        note = f" +{(costs[label] - base) * 1e6:.0f} µs" if base and label != "no auth" else ""
        ax.annotate(f"{bar.get_width():.0f} µs{note}", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_xlim(0, max(micros) * 1.35)
    ax.set_xlabel("time per request on this machine (µs, one client, keep-alive)")
    ax.set_title("What checking a request costs: blue a signature, red a store lookup")
    fig.tight_layout()
    return fig
