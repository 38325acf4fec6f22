"""The lab controls answer their owner only: every /lab/ route wants the lab's secret, which only the owner has.

On a shared machine every OS user reaches every lab's loopback port. Each test puts a request without the
secret (another user's, or an answer under test's) beside the owner's request, which keeps working.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import labserver
from conftest import make_client
from coursekit.labtools.lab import fresh_lab
from helpers import error

MISSING = error("invalid_lab_secret", "the lab controls need this lab's secret in the Lab-Secret header "
                                      "(the program that started the lab holds it; see the server's banner)")
WRONG = error("invalid_lab_secret", "the Lab-Secret header is not this lab's secret")
CHALLENGE = {"www-authenticate": 'Lab-Secret realm="labserver"', "cache-control": "no-store"}
NOBODY = 65534


def lab_operations(client) -> list[tuple[str, str]]:
    """Every (method, concrete path) of the lab controls, from the API document (tests/test_openapi_truth.py
    keeps it complete): none can be forgotten."""
    paths = client.get("/openapi.json").json()["paths"]
    return [(method.upper(), path.replace("{table}", "users")) for path, operations in paths.items()
            if path.startswith("/lab/") for method in operations]


def test_every_lab_route_refuses_a_request_without_the_secret_and_answers_the_owner():
    client = make_client()
    owner = client.headers["Lab-Secret"]
    operations = lab_operations(client)
    assert len(operations) == 18, operations  # as many as labserver/routes/lab.py has
    for method, path in operations:
        for sent, expected in ((None, MISSING), ("guess", WRONG), (owner + "x", WRONG), ("é€".encode(), WRONG)):
            headers = {"Lab-Secret": sent} if sent is not None else {}
            r = client.request(method, path, headers=headers)
            if sent is None:  # the client's default header carries the owner's secret: take it off
                r = client.build_request(method, path)
                del r.headers["Lab-Secret"]
                r = client.send(r)
            assert r.status_code == 401, (method, path, r.text)
            assert r.json() == expected
            assert {k: r.headers.get(k) for k in CHALLENGE} == CHALLENGE
    # The owner, side by side: the same client with the secret reads and drives the lab.
    assert client.get("/lab/clock").status_code == 200
    assert client.post("/lab/clock/advance", json={"seconds": 60}).status_code == 200
    assert client.post("/lab/reset").status_code == 200


def test_each_lab_has_a_secret_of_its_own_from_the_system_not_from_the_seed():
    first, second = (make_client(seed=7).app.state.lab.lab_secret for _ in range(2))
    assert first != second and len(first) >= 43
    other = make_client(seed=7)
    r = other.get("/lab/clock", headers={"Lab-Secret": first})
    assert r.status_code == 401 and r.json() == WRONG


def test_the_openapi_document_says_the_lab_controls_want_the_secret(client):
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["labSecret"] == {
        "type": "apiKey", "in": "header", "name": "Lab-Secret",
        "description": "the lab's secret: held by the program that started it, or in the file its banner names"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/lab/"):
                assert operation["security"] == [{"labSecret": []}], (method, path)
                assert "401" in operation["responses"], (method, path)


def test_a_started_lab_keeps_working_for_its_handle_and_refuses_anyone_else():
    with labserver.start() as lab:
        stranger = requests.post(lab.url + "/lab/clock/advance", json={"seconds": 3600}, timeout=10)
        assert (stranger.status_code, stranger.json()) == (401, MISSING)
        before = lab.clock.now()
        assert lab.clock.advance(minutes=1)["now"] == pytest.approx(before + 60, abs=1)
        # The handle sends the secret to the lab controls only, never with API calls.
        api = lab.http.get(lab.url + "/api/hello", timeout=10)
        assert "Lab-Secret" not in api.request.headers
        assert lab.http.get(lab.url + "/lab/clock", timeout=10).request.headers["Lab-Secret"] == lab.lab_secret
        secret_file = lab.folder / "lab-secret"
        assert secret_file.read_text() == lab.lab_secret + "\n"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_a_checks_lab_is_out_of_reach_of_the_answer_it_grades():
    lab = fresh_lab()
    # What an answer could try with the URL it is given: move the clock, switch a flaw on, reset.
    for method, path, body in (("POST", "/lab/clock/advance", {"seconds": 3600}), ("PUT", "/lab/flaws", ["no-exp"]),
                               ("POST", "/lab/reset", None)):
        r = requests.request(method, lab.url + path, json=body, timeout=10)
        assert (r.status_code, r.json()) == (401, MISSING), path
    assert not (lab.folder / "lab-secret").exists()
    assert not [p for p in lab.folder.iterdir() if "secret" in p.name]
    assert lab.flaws.enabled() == []  # the check's own handle still drives it


def run_cli(*args: str) -> tuple[subprocess.Popen, list[str]]:
    from test_server_process import read_lines

    process = subprocess.Popen([sys.executable, "-m", "labserver", "--port", "0", *args], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, read_lines(process.stdout, 5, timeout=15)


def test_a_command_line_user_finds_the_secret_in_the_file_the_banner_names_and_it_goes_on_sigterm(tmp_path,
                                                                                                   monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    process, banner = run_cli()
    try:
        found = re.fullmatch(r"  lab controls: (http://127\.0\.0\.1:\d+)/lab/clock, with header Lab-Secret: the "
                             r"contents of (\S+) \(readable by you alone\)", banner[-1])
        assert found, banner
        url, secret_file = found.group(1), Path(found.group(2))
        assert secret_file.parent == tmp_path / "jwt-course-labserver"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        secret = secret_file.read_text().strip()
        stranger = requests.get(url + "/lab/clock", timeout=10)
        owner = requests.get(url + "/lab/clock", headers={"Lab-Secret": secret}, timeout=10)
        assert (stranger.status_code, stranger.json()) == (401, MISSING)
        assert owner.status_code == 200 and set(owner.json()) >= {"now", "frozen"}
        process.terminate()
        assert process.wait(timeout=10) == -signal.SIGTERM
        assert not secret_file.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


_OTHER_USER = """
import json, os, sys, urllib.request, urllib.error, encodings.idna  # imported while they can still be read
os.setgroups([]); os.setgid(int(sys.argv[1])); os.setuid(int(sys.argv[1]))
found = {}
try:
    open(sys.argv[2]).read()
    found["read"] = "read it"
except PermissionError:
    found["read"] = "PermissionError"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
request = urllib.request.Request(sys.argv[3] + "/lab/clock/freeze", method="POST")
try:
    opener.open(request, timeout=10)
    found["freeze"] = 200
except urllib.error.HTTPError as refused:
    found["freeze"] = refused.code
print(json.dumps(found))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="acting as another OS user needs root (setuid); not root here")
def test_another_os_user_can_neither_read_the_secret_nor_drive_the_lab(tmp_path):
    tmp_path.chmod(0o755)  # let the other user reach the folder at all: the file itself must still refuse
    with labserver.start(workdir=str(tmp_path)) as lab:
        os.chmod(lab.folder, 0o755)
        # A new program that becomes another user (uid 65534) after it started, as a classmate's would be.
        other = subprocess.run([sys.executable, "-c", _OTHER_USER, str(NOBODY), str(lab.folder / "lab-secret"),
                                lab.url], capture_output=True, text=True, timeout=30)
        assert other.returncode == 0, other.stderr
        import json

        assert json.loads(other.stdout) == {"read": "PermissionError", "freeze": 401}
        assert lab.clock.state()["frozen"] is False  # their freeze did nothing
        assert lab.clock.freeze()["frozen"] is True  # the owner's does


def test_each_control_that_changes_the_lab_is_numbered_and_reads_show_the_count():
    """Lab-Control (labserver/control/ledger.py): what a course grader counts to see controls it did not send."""
    client = make_client()
    assert client.get("/lab/clock").headers["lab-control"] == "0"
    assert client.post("/lab/clock/advance", json={"seconds": 5}).headers["lab-control"] == "1"
    assert client.get("/lab/stats").headers["lab-control"] == "1"
    assert client.post("/lab/reset").headers["lab-control"] == "2"
    # A reset forgets the audit log and the counters, never this count. A control with the secret counts even
    # when its input is refused (it reached the lab's owner-only part); one without the secret does not.
    assert client.post("/lab/clock/advance", json={"seconds": -1e30}).status_code == 400
    assert client.get("/lab/clock").headers["lab-control"] == "3"
    r = client.post("/lab/clock/advance", json={"seconds": 1}, headers={"Lab-Secret": "wrong"})
    assert r.status_code == 401 and "lab-control" not in r.headers
    assert client.get("/lab/clock").headers["lab-control"] == "3"
    # Only the lab controls carry it.
    assert "lab-control" not in client.get("/.well-known/jwks.json").headers


def test_a_handle_tells_the_audit_hooks_each_control_with_its_count():
    seen = []
    lab = fresh_lab()

    def hook(event, args):
        if event == "labserver.control" and args[0] is lab:
            seen.append(args[1:4])

    sys.addaudithook(hook)  # for the rest of this worker's life: it notes this lab only
    lab.clock.advance(1)
    lab.table("users")
    before = seen[0][2]
    assert seen == [("POST", lab.url + "/lab/clock/advance", before), ("GET", lab.url + "/lab/store/users", before)]
