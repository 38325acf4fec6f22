"""labserver.start(): each handle is a real server process on its own loopback port, gone once stopped."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

import labserver
from labserver.launch.ready import READY_PREFIX, parse_ready_line

LOGIN_REQUIRED = {"error": "login_required", "error_description": "no valid session: log in first"}


@pytest.fixture(scope="module")
def server():
    with labserver.start() as lab:
        yield lab


def bearer_token(lab, username: str = "alice") -> str:
    r = lab.http.post(lab.url + "/oauth/token", timeout=10, data={
        "grant_type": "password", "username": username, "password": f"{username}-password"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def session_cookie(lab, username: str = "alice") -> str:
    r = lab.http.post(lab.url + "/session/login", timeout=10,
                      data={"username": username, "password": f"{username}-password"})
    assert r.status_code == 200, r.text
    return r.cookies["session"]


def get(url: str, **kwargs) -> requests.Response:
    """A GET that ignores this machine's proxy and CA-bundle variables (loopback only)."""
    with requests.Session() as http:
        http.trust_env = False
        return http.get(url, timeout=10, **kwargs)


def refuses_connections(url: str) -> bool:
    try:
        get(url + "/api/hello")
    except requests.ConnectionError:
        return True
    return False


def test_start_returns_a_handle_whose_server_answers_on_a_loopback_url(server):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.running
    r = server.http.get(server.url + "/api/hello", timeout=10)
    assert (r.status_code, r.json()) == (200, {"message": "hello, anyone"})


def test_two_servers_run_at_once_on_different_ports_with_their_own_keys(server):
    with labserver.start() as other:
        assert other.port != server.port
        assert other.http.get(other.url + "/api/hello", timeout=10).status_code == 200
        assert server.http.get(server.url + "/api/hello", timeout=10).status_code == 200

        r = other.http.get(other.url + "/api/me", timeout=10,
                           headers={"Authorization": f"Bearer {bearer_token(server)}"})

    assert r.status_code == 401
    assert r.json() == {"error": "invalid_token", "error_description": "unknown key id"}


def test_a_replica_sharing_keys_accepts_the_token_without_reading_its_store_but_not_the_cookie(server):
    token, cookie = bearer_token(server), session_cookie(server)
    with labserver.start(share_keys_with=server) as replica:
        assert replica.keys_path == server.keys_path
        assert replica.db_path != server.db_path

        me = replica.http.get(replica.url + "/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        session = replica.http.get(replica.url + "/session/me", cookies={"session": cookie}, timeout=10)
        stats = replica.stats()

    assert me.status_code == 200, me.text
    assert (me.json()["username"], me.json()["roles"]) == ("alice", ["user"])
    assert stats["GET /api/me"] == {"requests": 1, "reads": 0, "writes": 0}
    # The session lives in the first server's store only: the replica has never heard of it.
    assert (session.status_code, session.json()) == (401, LOGIN_REQUIRED)
    # Stopping the replica removed its own folder, not the shared keys.
    assert not replica.folder.exists()
    assert server.folder.exists()
    assert get(server.url + "/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_stop_ends_the_process_and_removes_the_temporary_folder():
    lab = labserver.start()
    folder, url = lab.folder, lab.url
    assert (folder / "store.sqlite3").is_file() and (folder / "keys.json").is_file()

    lab.stop()

    assert not lab.running
    assert lab.process.returncode == 0
    assert not folder.exists()
    assert refuses_connections(url)


def test_a_with_block_stops_the_server_at_its_end_even_when_the_block_fails():
    with pytest.raises(KeyError):
        with labserver.start() as lab:
            assert get(lab.url + "/api/hello").status_code == 200
            raise KeyError("the block fails")

    assert not lab.running
    assert not lab.folder.exists()
    assert refuses_connections(lab.url)


@pytest.mark.parametrize(("settings", "message"), [
    ({"algorithm": "none"}, "algorithm must be one of HS256, RS256, ES256, EdDSA"),
    ({"access_ttl": 0}, "access_ttl must be positive"),
    ({"refresh_reuse_interval": -1}, "refresh_reuse_interval and leeway cannot be negative"),
    ({"users": [("eve", "eve-password", "root")]}, "user 'eve': role must be one of user, admin"),
    ({"host": "0.0.0.0"}, "lab controls let anyone move the clock"),
    ({"frozen_at": "next tuesday"}, "Invalid isoformat string"),
], ids=["unknown-algorithm", "zero-lifetime", "negative-reuse-interval", "unknown-role",
        "lab-controls-off-loopback", "unreadable-frozen-at"])
def test_start_with_bad_settings_raises_value_error_before_making_a_folder_or_a_process(
        settings, message, monkeypatch, tmp_path):
    def no_process(*args, **kwargs):
        raise AssertionError("start() spawned a process for settings it should have refused")

    monkeypatch.setattr(labserver.launch.handle.subprocess, "Popen", no_process)
    monkeypatch.setattr(labserver.launch.handle.tempfile, "tempdir", str(tmp_path))  # where mkdtemp would make one

    with pytest.raises(ValueError, match=re.escape(message)):
        labserver.start(**settings)

    assert list(tmp_path.iterdir()) == []


def read_lines(stream, count: int, timeout: float) -> list[str]:
    """Read up to ``count`` lines, giving up at the deadline (a server that hangs must not hang the test)."""
    lines: queue.Queue[str] = queue.Queue()

    def reader() -> None:
        for _ in range(count):
            line = stream.readline()
            if not line:
                return
            lines.put(line.rstrip("\n"))

    threading.Thread(target=reader, daemon=True).start()
    got, deadline = [], time.monotonic() + timeout
    while len(got) < count:
        try:
            got.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
        except queue.Empty:
            break
    return got


def test_with_ready_line_the_server_announces_itself_on_stdout_in_the_line_start_reads():
    """serve writes the ready line and the handle reads it: both through labserver.launch.ready."""
    process = subprocess.Popen([sys.executable, "-m", "labserver", "--port", "0", "--ready-line"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        (line,) = read_lines(process.stdout, 1, timeout=15)
        assert line.startswith(READY_PREFIX)
        ready = parse_ready_line(line)
        assert ready["url"] == f"http://127.0.0.1:{ready['port']}" and ready["port"] != 0
        assert (get(ready["url"] + "/api/hello").json()) == {"message": "hello, anyone"}
        assert parse_ready_line("JWT course lab server on http://127.0.0.1:8000") is None
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.stdout.read() == ""  # the banner went to the log (stderr), not after the ready line
    assert process.stderr.read().startswith("JWT course lab server on " + ready["url"])


def test_python_m_labserver_with_port_0_prints_its_url_and_the_demo_accounts():
    process = subprocess.Popen([sys.executable, "-m", "labserver", "--port", "0"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = read_lines(process.stdout, 5, timeout=15)
        assert len(banner) == 5, (banner, process.poll())
        first = re.fullmatch(r"JWT course lab server on (http://127\.0\.0\.1:(\d+))  \(HS256, access tokens 1800 s\)",
                             banner[0])
        assert first, banner[0]
        url, port = first.group(1), int(first.group(2))
        assert port != 0
        assert banner[1:4] == [
            "  demo account alice / alice-password (user)",
            "  demo account bob / bob-password (user)",
            "  demo account admin / admin-password (admin)",
        ]
        assert re.fullmatch(rf"  lab controls: {url}/lab/clock, with header Lab-Secret: the contents of \S+"
                            rf"lab-{port}\.secret \(readable by you alone\)", banner[4]), banner[4]
        r = get(url + "/api/hello")
        assert (r.status_code, r.json()) == (200, {"message": "hello, anyone"})

        process.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why it ended.
        assert process.wait(timeout=10) == -signal.SIGTERM
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
