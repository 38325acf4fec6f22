"""A real single-host JupyterHub set up as docs/instructor-guide.md says, with two learner accounts.

The learners' environment is built from the system's Python outside any home (the guide's ``/opt``
install, here in /var/tmp, kept between runs: the dependencies once, the learners' wheel every run), the
proxy comes from npm, and the hub spawns each learner's server as that Unix user (LocalProcessSpawner,
JupyterHub's test authenticator). Then: a learner runs lesson 00 in a hub-spawned kernel, fetches a released
assignment with nbgrader, and neither learner can read the other's files or replace the course in the
exchange. Needs root (it creates two throwaway accounts), useradd, a system Python 3.10+ and npm; skipped
with a message otherwise. About 40 s once the environment exists (the first run installs it: a minute more).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
import requests

from classroom_tools import build_classroom
from notebook_tools import ROOT

SYSTEM_PYTHON = Path("/usr/bin/python3")
LESSON = next((ROOT / "notebooks").glob("00-*.ipynb")).stem


def _why_not() -> str:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "creating the two learner accounts needs root"
    for tool in ("useradd", "userdel", "npm", "node"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not SYSTEM_PYTHON.exists() or subprocess.run(
            [SYSTEM_PYTHON, "-c", "import sys, venv; assert sys.version_info >= (3, 10)"]).returncode:
        return f"{SYSTEM_PYTHON} (3.10 or later, with venv) is needed for the learners' environment"
    return ""


pytestmark = pytest.mark.skipif(bool(_why_not()), reason=f"the JupyterHub test is skipped: {_why_not()}")


def _run(*args, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def learners_env(tmp_path_factory) -> Path:
    """The guide's learners' install: a venv of the system Python with the learners' wheel, nbgrader and JupyterHub."""
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    env = Path(f"/var/tmp/jwt-course-hub-{key}")
    import importlib.util

    spec = importlib.util.spec_from_file_location("student_wheel", ROOT / "tools" / "student_wheel.py")
    student_wheel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student_wheel)
    wheel = student_wheel.build(tmp_path_factory.mktemp("dist"))
    if not (env / ".ready").exists():
        shutil.rmtree(env, ignore_errors=True)
        _run(SYSTEM_PYTHON, "-m", "venv", env)
        _run(env / "bin" / "pip", "install", "--quiet", f"{wheel}[course]", "nbgrader", "jupyterhub")
        _run("npm", "install", "--silent", "--prefix", env / "chp", "configurable-http-proxy")
        (env / ".ready").touch()
    _run(env / "bin" / "pip", "install", "--quiet", "--no-deps", "--force-reinstall", wheel)
    # The course's JupyterLab settings, where every account's JupyterLab reads them (the guide's copy step).
    (env / "etc" / "jupyter" / "labconfig").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "jupyter-config" / "labconfig" / "page_config.json", env / "etc" / "jupyter" / "labconfig")
    _run("chmod", "-R", "go+rX", env)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Learner:
    def __init__(self, name: str):
        self.name = name
        _run("useradd", "--create-home", "--shell", "/bin/bash", name)
        self.home = Path(f"/home/{name}")
        self.home.chmod(0o700)  # the guide: homes private (useradd may make them 0755)

    def remove(self) -> None:
        uid = int(_run("id", "-u", self.name).stdout)
        for proc in Path("/proc").iterdir():  # this account's processes, by pid
            try:
                if proc.name.isdigit() and proc.stat().st_uid == uid:
                    os.kill(int(proc.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue
        time.sleep(0.5)
        subprocess.run(["userdel", "--remove", self.name], capture_output=True)


@pytest.fixture(scope="module")
def hub(learners_env, tmp_path_factory):
    """Two learners, a course with lesson 00 released into a sticky exchange, and a running hub."""
    work = Path(f"/var/tmp/jwt-hub-run-{secrets.token_hex(4)}")
    work.mkdir(mode=0o755)
    suffix = secrets.token_hex(3)
    learners = [Learner(f"jwtla{suffix}"), Learner(f"jwtlb{suffix}")]
    processes = []
    try:
        exchange = work / "exchange"
        exchange.mkdir()
        exchange.chmod(0o1777)  # the guide: sticky, like /tmp
        etc = work / "etc"
        etc.mkdir()
        (etc / "nbgrader_config.py").write_text(
            f'c = get_config()\nc.CourseDirectory.course_id = "jwt-course"\nc.Exchange.root = "{exchange}"\n')
        course = work / "course"
        course.mkdir(mode=0o700)  # the instructor's
        build_classroom.build(course)
        nbgrader = [sys.executable, "-m", "nbgrader"]
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               "JUPYTER_CONFIG_DIR": str(course / ".jupyter")}
        _run(*nbgrader, "generate_assignment", LESSON, cwd=course, env=env)
        _run(*nbgrader, "release_assignment", LESSON, f"--Exchange.root={exchange}", cwd=course, env=env)

        port, hub_port, token = _free_port(), _free_port(), secrets.token_hex(16)
        config = work / "jupyterhub_config.py"
        config.write_text(f"""
c = get_config()
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {secrets.token_hex(8)!r}
c.Authenticator.allowed_users = {{{", ".join(repr(x.name) for x in learners)}}}
c.Spawner.cmd = ["{learners_env}/bin/jupyterhub-singleuser"]
c.Spawner.environment = {{"PATH": "{learners_env}/bin:/usr/local/bin:/usr/bin:/bin",
                         "JUPYTER_CONFIG_PATH": "{etc}"}}
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.ConfigurableHTTPProxy.command = ["{learners_env}/chp/node_modules/.bin/configurable-http-proxy"]
c.JupyterHub.db_url = "sqlite:///{work}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{work}/cookie_secret"
c.JupyterHub.services = [{{"name": "course-test", "api_token": "{token}"}}]
c.JupyterHub.load_roles = [{{"name": "course-test", "services": ["course-test"],
                            "scopes": ["admin:users", "admin:servers", "access:servers"]}}]
""")
        log = open(work / "hub.log", "w")
        hub_process = subprocess.Popen([learners_env / "bin" / "jupyterhub", "-f", config], cwd=work,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(hub_process)
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"token {token}"
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if session.get(f"{base}/hub/api/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert hub_process.poll() is None, (work / "hub.log").read_text()[-3000:]
            time.sleep(0.3)
        yield {"base": base, "session": session, "learners": learners, "exchange": exchange, "work": work}
        for learner in learners:
            session.delete(f"{base}/hub/api/users/{learner.name}/server", timeout=30)
    finally:
        for process in processes:
            with _suppress():
                os.killpg(process.pid, signal.SIGTERM)
            with _suppress():
                process.wait(timeout=15)
        for learner in learners:
            learner.remove()
        shutil.rmtree(work, ignore_errors=True)


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], (OSError, subprocess.TimeoutExpired))


def _start_server(hub, learner: Learner) -> str:
    session, base = hub["session"], hub["base"]
    r = session.post(f"{base}/hub/api/users/{learner.name}/server", timeout=60)
    assert r.status_code in (201, 202), r.text
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        user = session.get(f"{base}/hub/api/users/{learner.name}", timeout=10).json()
        if user.get("servers", {}).get("", {}).get("ready"):
            return f"{base}/user/{learner.name}"
        time.sleep(0.5)
    raise AssertionError((hub["work"] / "hub.log").read_text()[-3000:])


async def _execute(server: str, token: str, kernel: str, code: str) -> dict:
    """Run code in a kernel of a single-user server over its websocket; the output text and the error, if any."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = server.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels"
    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    msg_id = uuid.uuid4().hex
    ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex, "msg_type": "execute_request",
                   "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    text, error, idle, replied = [], None, False, False
    while not (idle and replied):
        message = json.loads(await asyncio.wait_for(ws.read_message(), 120))
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            text.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            text.append(content["data"].get("text/plain", ""))
        elif kind == "error":
            error = f"{content['ename']}: {content['evalue']}"
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
        elif kind == "execute_reply":
            replied = True
    ws.close()
    return {"text": "".join(text), "error": error}


def _kernel(hub, server: str) -> str:
    r = hub["session"].post(f"{server}/api/kernels", json={"name": "python3"}, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _in_kernel(hub, server: str, kernel: str, code: str) -> dict:
    token = hub["session"].headers["Authorization"].split()[1]
    return asyncio.run(_execute(server, token, kernel, code))


def test_learners_run_lesson_00_fetch_an_assignment_and_cannot_touch_each_others_files(hub):
    ada, grace = hub["learners"]
    server = _start_server(hub, ada)
    kernel = _kernel(hub, server)
    who = _in_kernel(hub, server, kernel, "import getpass, os; print(getpass.getuser(), oct(os.stat(os.path.expanduser('~')).st_mode & 0o777))")
    assert who == {"text": f"{ada.name} 0o700\n", "error": None}

    page = hub["session"].get(f"{server}/lab", timeout=30)
    assert page.status_code == 200 and "@jupyterlab/apputils-extension:announcements" in page.text

    lesson = nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    for cell in lesson.cells:
        if cell.cell_type == "code":
            result = _in_kernel(hub, server, kernel, cell.source)
            assert result["error"] is None, (cell.source[:200], result)

    fetched = _in_kernel(hub, server, kernel, (
        "import subprocess, os\n"
        f"r = subprocess.run(['nbgrader', 'fetch_assignment', '{LESSON}', '--course', 'jwt-course'],"
        " cwd=os.path.expanduser('~'), capture_output=True, text=True)\n"
        f"print(r.returncode, os.path.exists(os.path.expanduser('~/{LESSON}/{LESSON}.ipynb')))\n"
        "_ = open(os.path.expanduser('~/answers.txt'), 'w').write('mine')\n"))
    assert fetched == {"text": "0 True\n", "error": None}

    other = _start_server(hub, grace)
    their_kernel = _kernel(hub, other)
    course = hub["exchange"] / "jwt-course"
    attempts = _in_kernel(hub, other, their_kernel, (
        "import os\n"
        "def attempt(action):\n"
        "    try:\n        action()\n        return 'done'\n"
        "    except PermissionError:\n        return 'refused'\n"
        f"print(attempt(lambda: open('{ada.home}/answers.txt').read()))\n"
        f"print(attempt(lambda: os.listdir('{ada.home}/{LESSON}')))\n"
        f"print(attempt(lambda: os.rename('{course}', '{hub['exchange']}/moved')))\n"
        f"print(attempt(lambda: os.rename('{course}/outbound', '{course}/old')))\n"
        f"print(attempt(lambda: open('{course}/outbound/{LESSON}/{LESSON}.ipynb', 'a').write('x')))\n"))
    assert attempts == {"text": "refused\n" * 5, "error": None}
