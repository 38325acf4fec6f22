"""Where the time of an authenticated request goes, without the network: the app called as ASGI, in-process.

    .venv/bin/python benchmarks/profile_auth.py            # a few seconds
    .venv/bin/python benchmarks/profile_auth.py --cprofile # and the top functions of /api/me under cProfile

Each line is the fastest of many batches (the least disturbed by the rest of the machine), in microseconds
per call. "/api/me" is the full route: ``authenticate`` reading the header, ``AccessTokens.verify``
(remembered or from scratch), the denylist switch, the answer. The steps below it are parts of ``verify``
timed alone; "the route without verify()" is /api/me with ``verify`` answering the same verified token at
once: reading the header, the larger answer.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jwt  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from labserver import Settings, create_app  # noqa: E402
from labserver.tokens import access as tokens  # noqa: E402
from labserver.web.routes import api, deps  # noqa: E402


def scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}


async def _receive() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: dict) -> None:
    if message["type"] == "http.response.start" and message["status"] != 200:
        raise RuntimeError(f"answered {message['status']}")


def route_time(app, path: str, headers, loop, calls: int = 300, batches: int = 30) -> float:
    async def batch() -> None:
        for _ in range(calls):
            await app(scope(path, headers), _receive, _send)

    best = float("inf")
    loop.run_until_complete(batch())
    for _ in range(batches):
        started = time.perf_counter()
        loop.run_until_complete(batch())
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def step_time(function, number: int = 2000) -> float:
    return min(timeit.repeat(function, number=number, repeat=7)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cprofile", action="store_true", help="also print the top functions of /api/me")
    args = parser.parse_args()

    rows = []
    loop = asyncio.new_event_loop()
    for remember in (256, 0):
        app = create_app(Settings(frozen_at=1_900_000_000, remember_tokens=remember))
        lab = app.state.lab
        token = TestClient(app).post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": "alice-password"}).json()["access_token"]
        host = [(b"host", b"127.0.0.1:8000")]
        with_token = host + [(b"authorization", f"Bearer {token}".encode())]
        label = "remembered" if remember else "from scratch"
        if remember:
            rows.append(("GET /api/hello (no auth)", route_time(app, "/api/hello", host, loop)))
            rows.append(("GET /api/hello + bearer header", route_time(app, "/api/hello", with_token, loop)))
            verified = lab.tokens.verify(token, lab.now())
            api.authenticate = lambda _request, role=None: verified  # routing and the answer, no checks at all
            rows.append(("GET /api/me, authenticate() stubbed", route_time(app, "/api/me", with_token, loop)))
            api.authenticate = deps.authenticate
        rows.append((f"GET /api/me, HS256 {label}", route_time(app, "/api/me", with_token, loop)))
        now = lab.now()
        rows.append((f"  AccessTokens.verify, {label}", step_time(lambda: lab.tokens.verify(token, now))))
        if remember:
            verified = lab.tokens.verify(token, now)
            lab.tokens.verify = lambda _token, _now: verified  # the route as it is, minus the verification
            rows.append(("  the route without verify()", route_time(app, "/api/me", with_token, loop)))
            del lab.tokens.verify
            header = tokens.unverified_header(token)
            key = lab.keys.find(header["kid"], now)
            rows.append(("    header read (unverified_header)", step_time(lambda: tokens.unverified_header(token))))
            rows.append(("    key lookup by kid (KeyRing.find)", step_time(lambda: lab.keys.find(header["kid"], now))))
            # The arguments AccessTokens.verify passes: PyJWT checks the signature and claims, not the times.
            decode_args = dict(algorithms=["HS256"], audience=lab.settings.audience, issuer=lab.settings.issuer_id,
                               options={"require": list(tokens.REQUIRED_CLAIMS), "strict_aud": True,
                                        "verify_exp": False, "verify_nbf": False, "verify_iat": False})
            claims = jwt.decode(token, key.verifying_key, **decode_args)
            rows.append(("    time claims (check_times)", step_time(lambda: tokens.check_times(claims, now, 0))))
            rows.append(("    jwt.decode alone (PyJWT, HS256)",
                         step_time(lambda: jwt.decode(token, key.verifying_key, **decode_args))))
        if args.cprofile and remember:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            route_time(app, "/api/me", with_token, loop, calls=2000, batches=1)
            profiler.disable()
            profile = pstats.Stats(profiler)
    print(f"{'in-process, fastest batch':<40} {'us/call':>8}")
    for name, seconds in rows:
        print(f"{name:<40} {seconds * 1e6:>8.1f}")
    if args.cprofile:
        print()
        profile.sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
