"""The lab flaws' own limits: loopback even through redirects, no 500, no stalled event loop, no runaway query,
and no key file left behind, whatever the attacker sends. Each attack sits beside the owner's genuine request.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

import labserver
from conftest import Auth
from helpers import assert_invalid_token, b64url, bearer, hs256
from test_flaws import JwksServer, admin_claims, switch

MINE = b"my own secret, 32 bytes long....."
KEY_SET = {"keys": [{"kty": "oct", "k": b64url(MINE), "kid": "mine", "alg": "HS256"}]}


class Redirector:
    """A loopback server answering every GET with a redirect to ``target``, or holding it until released."""

    def __init__(self, target: str | None = None) -> None:
        self.release = threading.Event()
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                outer.arrived.set()
                if target is None:
                    outer.release.wait(10)  # a slow key server: the lab's fetch waits here
                    self.send_response(404)
                else:
                    self.send_response(302)
                    self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hs_client(tmp_path):
    from conftest import make_client

    with make_client(keys=str(tmp_path / "keys.json")) as c:
        yield c


def forged_with(hs_client, **header) -> str:
    token = Auth(hs_client).token()["access_token"]
    return hs256({"alg": "HS256", "typ": "at+jwt", "kid": "mine", **header}, admin_claims(token), MINE)


def test_a_jku_redirect_off_loopback_is_refused_and_a_loopback_key_set_still_works(hs_client):
    switch(hs_client, "jku-header")
    away = Redirector("http://192.0.2.1/jwks.json")  # TEST-NET: never reached
    served = JwksServer(KEY_SET)
    hop = Redirector(served.url)  # loopback to loopback: the flaw's documented reach
    try:
        attacker = hs_client.get("/api/admin", headers=bearer(forged_with(hs_client, jku=away.url)))
        assert_invalid_token(attacker, "jku redirected away from loopback: refused")
        allowed = hs_client.get("/api/admin", headers=bearer(forged_with(hs_client, jku=hop.url)))
        assert allowed.status_code == 200, allowed.text
    finally:
        for server in (away, served, hop):
            server.close()


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999/x", "http://127.0.0.1:port/x", "http:///x",
                                 "http://[zz::1]/x", 42, None])
def test_a_malformed_jku_is_a_401_never_a_500(hs_client, url):
    switch(hs_client, "jku-header")
    r = hs_client.get("/api/admin", headers=bearer(forged_with(hs_client, jku=url)))
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_token"


def test_a_slow_jku_fetch_leaves_the_server_answering_everyone_else():
    slow = Redirector()  # holds the fetch until released
    try:
        with labserver.start(flaws=("jku-header",)) as lab:
            token = lab.http.post(lab.url + "/oauth/token", timeout=10, data={
                "grant_type": "password", "username": "alice", "password": "alice-password"}).json()["access_token"]
            forged = hs256({"alg": "HS256", "typ": "at+jwt", "kid": "mine", "jku": slow.url}, admin_claims(token),
                           MINE)
            stalled = threading.Thread(target=requests.get, args=(lab.url + "/api/admin",),
                                       kwargs={"headers": bearer(forged), "timeout": 30}, daemon=True)
            stalled.start()
            assert slow.arrived.wait(10)  # the lab is fetching the attacker's key now, and waits
            started = time.monotonic()
            owner = requests.get(lab.url + "/api/me", headers=bearer(token), timeout=5)
            assert owner.status_code == 200 and time.monotonic() - started < 1.5
            assert stalled.is_alive()  # the attacker's request is still waiting for its key
            slow.release.set()
            stalled.join(10)
    finally:
        slow.close()


def test_an_injected_query_that_never_ends_is_cut_short(hs_client):
    switch(hs_client, "kid-sql")
    endless = ("x' UNION SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT x FROM c) --")
    started = time.monotonic()
    attacker = hs_client.get("/api/admin", headers=bearer(forged_with(hs_client, kid=endless)))
    assert_invalid_token(attacker, "unknown key id")
    assert time.monotonic() - started < 2
    owner = hs_client.get("/api/me", headers=bearer(Auth(hs_client).token()["access_token"]))
    assert owner.status_code == 200


@pytest.mark.parametrize("flaw", ["", "kid-sql", "kid-path", "alg-none", "refresh-subject"])
def test_a_lone_surrogate_in_a_token_is_malformed_whatever_the_flaw(hs_client, flaw):
    # JSON may spell "\\ud800", text no UTF-8 answer or SQL parameter can carry: it was a 500 with kid-sql (which
    # told a challenge's hidden flaw) and, in a claim of an accepted forgery, after a refresh had used its token.
    switch(hs_client, *([flaw] if flaw else []))
    login = Auth(hs_client).token()
    surrogate_kid = forged_with(hs_client, kid="\ud800")
    unsigned = (b64url(json.dumps({"alg": "none", "typ": "at+jwt"}).encode()) + "." +
                b64url(json.dumps({**admin_claims(login["access_token"]), "username": "\ud800"}).encode()) + ".")
    assert_invalid_token(hs_client.get("/api/me", headers=bearer(surrogate_kid)), "token is malformed")
    assert_invalid_token(hs_client.get("/api/me", headers=bearer(unsigned)),
                         "token is malformed" if flaw == "alg-none" else "algorithm must be HS256")
    renewed = hs_client.post("/oauth/token", headers=bearer(unsigned),
                             data={"grant_type": "refresh_token", "refresh_token": login["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    owner = hs_client.get("/api/me", headers=bearer(renewed.json()["access_token"]))
    assert (owner.status_code, owner.json()["username"]) == (200, "alice")


def test_the_kid_path_key_files_go_when_the_server_is_terminated(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "labserver", "--port", "0", "--flaw", "kid-path"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    try:
        url = process.stdout.readline().split()[5]
        token = requests.post(url + "/oauth/token", timeout=10, data={
            "grant_type": "password", "username": "alice", "password": "alice-password"}).json()["access_token"]
        assert requests.get(url + "/api/me", headers=bearer(token), timeout=10).status_code == 200
        (folder,) = tmp_path.glob("labserver-keyfiles-*")  # the flaw wrote the secrets out, one file per kid
        assert list(folder.iterdir())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == -signal.SIGTERM
        assert not folder.exists()
        assert not list(tmp_path.glob("jwt-course-labserver/lab-*.secret"))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
