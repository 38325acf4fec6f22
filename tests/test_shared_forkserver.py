"""One fork server serves every Python process of the user: what sharing adds, and what it must not give away.

Each test gets a runtime folder of its own (``XDG_RUNTIME_DIR``), so the fork servers it counts, kills or
waits for are its own, never those of the test run or of a notebook running beside it. Fork servers are
counted, never timed: "the second process did not start one" is the fast start.
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
import time
from pathlib import Path

import pytest

import labserver
from labserver.launch import forkclient, sharedforkserver
from labserver.launch.cli import parser
from test_forkserver import parent_pid
from test_orphans import DEADLINE, alive, answers, wait_until_gone

pytestmark = pytest.mark.skipif(not forkclient.SUPPORTED, reason="the fork server needs Linux")

ROOT = Path(__file__).resolve().parent.parent

# A program that starts labs (and a replica of the first if asked), says what it got, and waits for "exit".
STARTER = """
import json, os, sys
import labserver
from labserver.launch import forkclient

labs = [labserver.start() for _ in range(int(sys.argv[1]))]
if len(sys.argv) > 2:
    labs.append(labserver.start(share_keys_with=labs[0]))
ours = forkclient.fork_server()
print(json.dumps({"labs": [{"pid": s.process.pid, "url": s.url, "folder": str(s.folder)} for s in labs],
                  "shared": ours.shared, "started_it": ours.process is not None, "refused": forkclient.sharing_refused,
                  "package": os.path.dirname(labserver.__file__)}), flush=True)
for line in sys.stdin:
    if line.strip() == "exit":
        break
"""


class Runtime:
    """A private runtime folder, and the programs and fork servers started in it."""

    def __init__(self, idle: float) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="fs-"))  # short: a socket path has at most 107 bytes
        self.folder = self.path / "jwt-course-labserver"
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(self.path), "LABSERVER_FORKSERVER_IDLE": str(idle)}
        self.env.pop("LABSERVER_FORKSERVER", None)
        self.programs: list[subprocess.Popen] = []

    def run(self, labs: int = 1, *, replica: bool = False, env: dict | None = None) -> tuple[subprocess.Popen, dict]:
        """Start a program that starts ``labs`` lab servers; return it and what it reports."""
        program = subprocess.Popen([sys.executable, "-c", STARTER, str(labs), *(["replica"] if replica else [])],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env={**self.env, **(env or {})}, cwd=self.path)
        self.programs.append(program)
        line = program.stdout.readline()
        assert line, program.communicate(timeout=DEADLINE)
        return program, json.loads(line)

    def end(self, program: subprocess.Popen) -> None:
        program.communicate("exit\n", timeout=DEADLINE)

    def fork_servers(self) -> list[int]:
        """The live shared fork servers whose socket is in this folder (not the lab servers they forked)."""
        def cmdline(pid: int) -> bytes:
            try:
                return Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                return b""

        ours = [pid for pid in (int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit())
                if b"labserver.launch.forkserver" in cmdline(pid) and str(self.folder).encode() in cmdline(pid)]
        found = []
        for pid in ours:
            try:
                if alive(pid) and parent_pid(pid) not in ours:  # a forked lab server shows its parent's cmdline
                    found.append(pid)
            except OSError:
                continue
        return found

    def close(self) -> None:
        for program in self.programs:
            if program.poll() is None:
                program.kill()
            program.communicate()
        for pid in self.fork_servers():
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture
def runtime():
    made: list[Runtime] = []

    def make(idle: float = 60) -> Runtime:
        made.append(Runtime(idle))
        return made[-1]

    yield make
    for each in made:
        each.close()


def private_fork_servers_of(pid: int) -> list[int]:
    """Fork servers a program started for itself alone (its children running ``labserver.launch.forkserver``)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            try:
                if parent_pid(int(entry.name)) == pid and b"labserver.launch.forkserver" in (entry / "cmdline").read_bytes():
                    children.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return children


def test_two_programs_get_their_servers_from_one_fork_server_and_the_second_starts_none(runtime):
    rt = runtime()
    first, a = rt.run()
    second, b = rt.run()
    fork_server = parent_pid(a["labs"][0]["pid"])

    assert parent_pid(b["labs"][0]["pid"]) == fork_server
    assert rt.fork_servers() == [fork_server]
    assert parent_pid(fork_server) == first.pid  # the first program started it ...
    assert (a["shared"], a["started_it"], b["shared"], b["started_it"]) == (True, True, True, False)
    assert private_fork_servers_of(second.pid) == []  # ... and the second started none, shared or its own
    assert answers(a["labs"][0]["url"]) and answers(b["labs"][0]["url"])


def test_a_program_started_after_the_first_has_ended_finds_the_fork_server_still_there(runtime):
    rt = runtime(idle=60)
    first, a = rt.run()
    rt.end(first)
    assert wait_until_gone(a["labs"][0]["pid"])
    fork_server = rt.fork_servers()
    assert len(fork_server) == 1  # no client, no server: idle, not gone

    second, b = rt.run()
    assert parent_pid(b["labs"][0]["pid"]) == fork_server[0]
    assert not b["started_it"] and rt.fork_servers() == fork_server


def test_programs_starting_at_once_end_up_with_one_fork_server(runtime):
    rt = runtime()
    programs = [subprocess.Popen([sys.executable, "-c", STARTER, "2"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=rt.env,
                                 cwd=rt.path)
                for _ in range(3)]
    rt.programs += programs
    reports = []
    for program in programs:
        line = program.stdout.readline()
        assert line, program.communicate(timeout=DEADLINE)
        reports.append(json.loads(line))

    fork_servers = rt.fork_servers()
    assert len(fork_servers) == 1
    assert {parent_pid(lab["pid"]) for report in reports for lab in report["labs"]} == set(fork_servers)
    assert sorted(report["started_it"] for report in reports) == [False, False, True]
    assert len({lab["url"] for report in reports for lab in report["labs"]}) == 6


def test_sigkill_of_a_starter_leaves_no_lab_server_and_the_others_keep_theirs(runtime):
    rt = runtime()
    killed, a = rt.run(2, replica=True)
    other, b = rt.run()

    killed.send_signal(signal.SIGKILL)
    killed.wait(DEADLINE)

    for lab in a["labs"]:
        assert wait_until_gone(lab["pid"]), "a lab server outlived its starter"
        assert not answers(lab["url"])
        assert not Path(lab["folder"]).exists()
    assert answers(b["labs"][0]["url"])  # the other program's server, from the same fork server, lives on
    assert rt.fork_servers() == [parent_pid(b["labs"][0]["pid"])]


def test_the_fork_server_exits_after_its_idle_period_with_no_client_and_no_server(runtime):
    rt = runtime(idle=1)
    program, report = rt.run()
    fork_server = parent_pid(report["labs"][0]["pid"])
    socket_file = next(rt.folder.glob("forkserver-*.sock"))
    time.sleep(1.5)
    assert alive(fork_server), "it left while a program was still connected"

    program.send_signal(signal.SIGKILL)  # the lab goes with it; then one idle second, and the fork server too
    program.wait(DEADLINE)
    assert wait_until_gone(report["labs"][0]["pid"])
    assert wait_until_gone(fork_server), "the fork server outlived its idle period"
    assert not socket_file.exists()


def test_code_with_another_fingerprint_gets_a_fork_server_of_its_own(runtime, tmp_path):
    rt = runtime()
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "labserver", copy / "labserver", ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": str(copy)}
    first, a = rt.run(env=env)
    assert a["package"] == str(copy / "labserver")

    changed = copy / "labserver" / "control" / "clock.py"  # in a subpackage: the fingerprint covers them all
    changed.write_text(changed.read_text() + "\n# changed\n")
    second, b = rt.run(env=env)
    other, c = rt.run()  # the repository's own code

    servers = {parent_pid(r["labs"][0]["pid"]) for r in (a, b, c)}
    assert len(servers) == 3 and set(rt.fork_servers()) == servers
    assert len(list(rt.folder.glob("forkserver-*.sock"))) == 3
    assert all(r["started_it"] for r in (a, b, c))


def test_the_fingerprint_changes_with_any_file_of_the_package_in_any_of_its_folders(tmp_path, monkeypatch):
    copy = tmp_path / "labserver"
    shutil.copytree(ROOT / "labserver", copy, ignore=shutil.ignore_patterns("__pycache__"))
    files = sorted(path for path in copy.rglob("*") if path.is_file())
    assert {copy / "launch", copy / "web" / "routes", copy / "data", copy / "static"} <= {p.parent for p in files}
    monkeypatch.setattr(sharedforkserver, "PACKAGE", copy)
    try:
        before = sharedforkserver.code_fingerprint_now()
        for path in files:
            path.write_bytes(path.read_bytes() + b"\n")
            after = sharedforkserver.code_fingerprint_now()
            assert after != before, f"changing {path.relative_to(copy)} went unnoticed"
            before = after
    finally:
        sharedforkserver.fingerprint.cache_clear()  # this process's own code, from now on


def test_the_boot_line_of_the_shared_fork_server_runs_its_main(tmp_path):
    """The shared fork server starts as ``python -c <boot line> <folder of labserver> ARGS``."""
    result = subprocess.run([sys.executable, "-c", sharedforkserver._BOOT, str(sharedforkserver.PACKAGE.parent),
                             "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: labserver.launch.forkserver") and "--listen-fd" in result.stdout


def test_the_fork_server_refuses_to_serve_code_other_than_its_name_says(runtime):
    rt = runtime()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(str(rt.path / "wrong.sock"))
    listener.listen()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "labserver.launch.forkserver", "--listen-fd", str(listener.fileno()), "--key", "0" * 24],
            pass_fds=[listener.fileno()], stdin=subprocess.DEVNULL, capture_output=True, timeout=DEADLINE,
            env=rt.env, cwd=rt.path)
    finally:
        listener.close()
    assert (process.returncode, process.stderr) == (0, b"")  # left at once, having served nobody


def test_a_stale_socket_file_is_replaced(runtime, monkeypatch):
    rt = runtime()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(rt.path))
    path = sharedforkserver.folder() / f"forkserver-{sharedforkserver.fingerprint()}.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    stale.bind(str(path))  # a socket file nobody listens on: what a killed fork server leaves
    stale.close()

    program, report = rt.run()
    assert report["shared"] and report["started_it"] and report["refused"] is None
    assert rt.fork_servers() == [parent_pid(report["labs"][0]["pid"])]


def test_the_working_directory_environment_and_umask_are_the_callers_at_start(runtime, monkeypatch, tmp_path):
    rt = runtime()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(rt.path))
    monkeypatch.setattr(forkclient, "_server", None)
    monkeypatch.setattr(forkclient, "sharing_refused", None)
    other, _report = rt.run()  # another program starts the fork server, in its directory and environment
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "40")  # argparse wraps --help at the terminal width it finds there
    old_umask = os.umask(0o027)
    try:
        with labserver.start() as lab:
            assert forkclient.fork_server().shared and forkclient.fork_server().process is None
            assert os.readlink(f"/proc/{lab.process.pid}/cwd") == str(tmp_path)
            umask = next(line for line in Path(f"/proc/{lab.process.pid}/status").read_text().splitlines()
                         if line.startswith("Umask:"))
            assert umask.split()[1] == "0027"
        narrow = help_text(), parser().format_help()
        monkeypatch.setenv("COLUMNS", "150")
        wide = help_text(), parser().format_help()
    finally:
        os.umask(old_umask)
        forkclient.fork_server().close()
    # The forked server wrapped its help as this process does, at the width this process has now.
    assert narrow[0] == narrow[1] and wide[0] == wide[1] and narrow[0] != wide[0]


def help_text() -> str:
    """What ``python -m labserver --help`` prints, forked from the fork server."""
    with open(os.devnull, "wb") as log:
        process = forkclient.fork_server().spawn(["--help"], log.fileno())
    text = process.stdout.read().decode()
    assert process.wait(DEADLINE) == 0
    process.stdin.close()
    process.stdout.close()
    return text


@pytest.mark.parametrize("spoil", ["group-writable", "open to others", "foreign owner", "symlink"])
def test_a_folder_anyone_else_could_use_is_refused_and_start_falls_back_to_a_fork_server_of_its_own(
        runtime, spoil):
    rt = runtime()
    if spoil == "foreign owner" and os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    if spoil == "symlink":
        elsewhere = rt.path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        rt.folder.symlink_to(elsewhere)
    else:
        rt.folder.mkdir(mode=0o700)
        if spoil == "group-writable":
            rt.folder.chmod(0o770)
        elif spoil == "open to others":
            rt.folder.chmod(0o701)
        else:
            os.chown(rt.folder, 65534, 65534)

    program, report = rt.run()
    assert not report["shared"] and "jwt-course-labserver" in report["refused"]
    assert parent_pid(report["labs"][0]["pid"]) in private_fork_servers_of(program.pid)
    assert answers(report["labs"][0]["url"])
    assert not list(rt.path.glob("**/forkserver-*.sock"))


@pytest.mark.skipif(os.geteuid() != 0, reason="connecting as another user needs root")
def test_a_connection_from_another_uid_is_refused(runtime):
    rt = runtime()
    program, report = rt.run()
    path = next(rt.folder.glob("forkserver-*.sock"))
    assert path.stat().st_mode & 0o777 == 0o600
    # Let the other user reach the socket at all: the fork server itself must still refuse.
    for opened, mode in ((rt.path, 0o711), (rt.folder, 0o711), (path, 0o666)):
        opened.chmod(mode)
    assert first_message(path, uid=65534) == b""  # closed at once, without a word
    assert json.loads(first_message(path, uid=None))["pid"] == parent_pid(report["labs"][0]["pid"])


_PROBE = """
import os, socket, sys
if sys.argv[3] != "ours":  # become the other user first, then try the socket
    os.setgroups([])
    os.setgid(int(sys.argv[3]))
    os.setuid(int(sys.argv[3]))
probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
probe.settimeout(float(sys.argv[2]))
probe.connect(sys.argv[1])
try:
    said = probe.recv(4096)
except ConnectionResetError:
    said = b""
sys.stdout.write(said.hex())
"""


def first_message(path: Path, uid: int | None) -> bytes:
    """What the socket says first to a process of this uid (None: ours) that connects to it."""
    # A new program (not a fork of this multi-threaded one) that becomes the other user itself, after it started.
    who = "ours" if uid is None else str(uid)
    probe = subprocess.run([sys.executable, "-c", _PROBE, str(path), str(DEADLINE), who],
                           capture_output=True, text=True, timeout=DEADLINE + 10)
    assert probe.returncode == 0, probe.stderr
    return bytes.fromhex(probe.stdout)


def test_a_fork_server_that_will_not_serve_our_code_makes_start_fall_back_to_one_of_our_own(runtime, monkeypatch):
    rt = runtime()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(rt.path))
    monkeypatch.setattr(forkclient, "_server", None)
    monkeypatch.setattr(forkclient, "sharing_refused", None)
    # The name we ask for does not match the code on disk: each fork server started under it leaves at once.
    monkeypatch.setattr(sharedforkserver, "fingerprint", lambda: "0" * 24)
    try:
        with labserver.start() as first:
            assert isinstance(first.process, subprocess.Popen)  # run as a command, this once
            assert first.http.get(first.url + "/api/hello", timeout=10).status_code == 200
        assert forkclient.sharing_refused.startswith("ConnectionResetError")
        with labserver.start() as second:
            ours = forkclient.fork_server()
            assert not ours.shared and parent_pid(second.process.pid) == ours.process.pid
    finally:
        forkclient.fork_server().close()
    assert rt.fork_servers() == []
    assert not list(rt.folder.glob("*.sock"))  # each one took its name away as it left
