"""Lab servers forked from the fork server keep every promise of a server started as its own command.

Own process and session, own store, several at once, replicas, an exit status, and no orphans: neither the
servers nor the fork server outlive the program that started them, even when it is killed with SIGKILL.

Every test runs twice: with a fork server of the test process alone, and with a shared one (in a runtime
folder of the test's own, with an idle period of 0, so that it too ends with the last program using it).
tests/test_shared_forkserver.py tests what sharing adds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import labserver
from labserver.launch import forkclient
from test_orphans import DEADLINE, alive, answers, wait_until_gone

pytestmark = pytest.mark.skipif(not forkclient.SUPPORTED, reason="the fork server needs Linux")


@pytest.fixture(autouse=True, params=["private", "shared"])
def fork_server_mode(request, monkeypatch):
    """This test's own fork server, of this process alone or shared, instead of the test run's."""
    runtime = tempfile.mkdtemp(prefix="fs-")  # short: a socket path has at most 107 bytes
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    monkeypatch.setenv("LABSERVER_FORKSERVER", request.param)
    monkeypatch.setenv("LABSERVER_FORKSERVER_IDLE", "0")
    monkeypatch.setattr(forkclient, "_server", None)
    monkeypatch.setattr(forkclient, "sharing_refused", None)
    yield request.param
    ours = forkclient._server
    if ours is not None:
        assert ours.shared == (request.param == "shared")
        ours.close()
        if ours.process is not None:
            ours.process.wait(DEADLINE)  # idle period 0: a shared one leaves with its last client too
    assert forkclient.sharing_refused is None, forkclient.sharing_refused
    shutil.rmtree(runtime, ignore_errors=True)

PARENT = """
import json, time
from concurrent.futures import ThreadPoolExecutor
import labserver

first = labserver.start()
with ThreadPoolExecutor(3) as pool:
    others = list(pool.map(lambda _: labserver.start(), range(2))) + [labserver.start(share_keys_with=first)]
servers = [first, *others]
print(json.dumps([{"pid": s.process.pid, "url": s.url, "folder": str(s.folder)} for s in servers]), flush=True)
time.sleep(60)
"""


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def open_files(pid: int) -> set[str]:
    """What a process's file descriptors point at ('pipe:[inode]', paths, sockets)."""
    links = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.add(os.readlink(fd))
        except FileNotFoundError:  # closed while we looked
            pass
    return links


def pipe_inodes(pid: int) -> set[str]:
    """The pipes a process holds open, as 'pipe:[inode]'."""
    return {link for link in open_files(pid) if link.startswith("pipe:")}


def stdin_of(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/fd/0")


def test_starting_several_servers_and_a_replica_then_sigkill_leaves_no_server_no_fork_server_no_folder():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    line = parent.stdout.readline()
    assert line, parent.communicate(timeout=DEADLINE)
    servers = json.loads(line)
    fork_server = parent_pid(servers[0]["pid"])
    try:
        assert {parent_pid(s["pid"]) for s in servers} == {fork_server}  # forked, all four
        assert parent_pid(fork_server) == parent.pid
        assert len({s["url"] for s in servers}) == 4 and all(answers(s["url"]) for s in servers)

        parent.send_signal(signal.SIGKILL)
        assert parent.wait(timeout=DEADLINE) == -signal.SIGKILL

        for server in servers:
            assert wait_until_gone(server["pid"]), f"server {server['pid']} outlived its starter"
            assert not answers(server["url"])
            assert not Path(server["folder"]).exists(), "a killed starter's server left its folder behind"
        assert wait_until_gone(fork_server), "the fork server outlived its starter"
    finally:
        for pid in [s["pid"] for s in servers] + [fork_server]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        parent.stdout.close()
        parent.stderr.close()


def test_a_forked_server_has_its_own_session_and_a_lifeline_that_only_its_starter_holds():
    with labserver.start() as a, labserver.start() as b:
        assert isinstance(a.process, forkclient.ForkedProcess)
        fork_server = parent_pid(a.process.pid)
        for server in (a, b):
            assert os.getsid(server.process.pid) == server.process.pid  # Ctrl-C in the notebook is not theirs
        lifeline_a, lifeline_b = stdin_of(a.process.pid), stdin_of(b.process.pid)
        assert lifeline_a.startswith("pipe:") and lifeline_a != lifeline_b
        # Neither the fork server nor the other server holds a copy: the pipe closes when its starter goes.
        assert lifeline_a not in pipe_inodes(fork_server)
        assert lifeline_a not in pipe_inodes(b.process.pid)
        assert lifeline_b not in pipe_inodes(a.process.pid)


def test_the_fork_server_has_one_thread_no_open_store_and_not_the_starters_stdin():
    with labserver.start() as lab:
        fork_server = parent_pid(lab.process.pid)
        assert len(list(Path(f"/proc/{fork_server}/task").iterdir())) == 1  # fork() copies only the caller
        assert stdin_of(fork_server) == "/dev/null"
        held = open_files(fork_server)
        assert not any(".sqlite3" in name or name.endswith(".json") for name in held), held
        assert any(name.endswith("store.sqlite3") for name in open_files(lab.process.pid))  # the server's own
        assert b"labserver" in Path(f"/proc/{fork_server}/cmdline").read_bytes()


def test_the_exit_status_of_a_forked_server_comes_back_like_a_childs():
    lab = labserver.start()
    assert lab.process.poll() is None
    lab.process.kill()
    assert lab.process.wait(DEADLINE) == -signal.SIGKILL
    lab.stop()

    with labserver.start() as clean:
        pass
    assert clean.process.returncode == 0


def test_four_servers_started_at_once_each_answer_on_their_own_port_with_their_own_store():
    with ThreadPoolExecutor(4) as pool:
        servers = list(pool.map(lambda _: labserver.start(), range(4)))
    try:
        assert len({s.port for s in servers}) == 4
        assert len({s.db_path for s in servers}) == 4
        for server in servers:
            r = server.http.post(server.url + "/session/login", timeout=10,
                                 data={"username": "alice", "password": "alice-password"})
            assert r.status_code == 200, r.text
        assert [len(s.table("sessions")) for s in servers] == [1, 1, 1, 1]
    finally:
        for server in servers:
            server.stop()


def test_a_killed_fork_server_is_replaced_and_its_servers_live_on():
    with labserver.start() as before:
        old = forkclient.fork_server()
        old.process.kill()
        old.process.wait(DEADLINE)
        assert before.http.get(before.url + "/api/hello", timeout=10).status_code == 200  # on its own lifeline
        assert before.running

        with labserver.start() as after:
            assert after.http.get(after.url + "/api/hello", timeout=10).status_code == 200
        assert forkclient.fork_server() is not old


def test_without_a_fork_server_start_runs_python_m_labserver(monkeypatch):
    monkeypatch.setattr(forkclient, "SUPPORTED", False)
    with labserver.start() as lab:
        assert isinstance(lab.process, subprocess.Popen)
        assert lab.process.args[1:3] == ["-m", "labserver"]
        assert lab.http.get(lab.url + "/api/hello", timeout=10).json() == {"message": "hello, anyone"}
    assert lab.process.returncode == 0


@pytest.mark.parametrize("answer", [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"[]", b'{"pid": []}'])
def test_a_peer_that_answers_something_else_makes_start_fall_back_to_python_m_labserver(monkeypatch, answer):
    """Something other than our fork server on the other end (a stray program, a broken one): start still works."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    theirs.send(answer)  # what it says instead of its greeting
    impostor = forkclient.ForkServer(ours, process=None, shared=False)
    monkeypatch.setattr(forkclient, "fork_server", lambda: impostor)
    try:
        with labserver.start() as lab:
            assert isinstance(lab.process, subprocess.Popen)  # the command, not a fork
            assert lab.http.get(lab.url + "/api/hello", timeout=10).json() == {"message": "hello, anyone"}
        assert ours.fileno() == -1  # the impostor was given up
    finally:
        theirs.close()
