"""Lesson 03's token workbench in a real JupyterLab, driven through Chromium as a learner would, without code.

The test starts JupyterLab itself (a random port, a random token, a copy of the lesson in a temporary folder,
the course's JupyterLab settings), opens lesson 03, runs the cells up to and including the workbench's,
changes alice's role to admin in the claims editor and sends: 401 invalid_token. Then it chooses the lab's
own HS256 secret, which the lesson read from the key file, sends again: 200.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSON = "03-anatomy-of-a-token.ipynb"
UNUSED = ("jupyter_lsp", "jupyter_server_terminals", "notebook", "nbgrader.server_extensions.formgrader",
          "nbgrader.server_extensions.validate_assignment", "nbgrader.server_extensions.assignment_list",
          "nbgrader.server_extensions.course_list")

# Runs the lesson's cells above the workbench's, then the workbench's (JupyterLab's own commands).
RUN_TO_WORKBENCH = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  const notebook = panel.content;
  const index = notebook.widgets.findIndex(cell => cell.model.sharedModel.getSource().includes("workbench(lab"));
  if (index < 0) throw new Error("lesson 03 has no workbench cell");
  notebook.activeCellIndex = index;
  await app.commands.execute("notebook:run-all-above");
  await app.commands.execute("notebook:run-cell");
  return index;
}"""


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory, chromium):
    """A JupyterLab server of the test's own, serving a copy of lesson 03; yields its URL and token."""
    folder = tmp_path_factory.mktemp("jupyterlab")
    shutil.copy(ROOT / "notebooks" / LESSON, folder / LESSON)
    runtime = folder / "runtime"
    token = secrets.token_hex(16)
    # Only JupyterLab itself: the other server extensions installed here (nbgrader's, terminals, LSP) take
    # seconds to load and play no part.
    config = folder / "jupyter_server_config.json"
    config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {name: False for name in UNUSED}}}))
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "JWT_COURSE_PROGRESS": "off",
           "JUPYTER_CONFIG_PATH": os.pathsep.join(filter(None, [str(ROOT / "jupyter-config"),
                                                                os.environ.get("JUPYTER_CONFIG_PATH")]))}
    with open(folder / "jupyterlab.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--config={config}", "--ServerApp.ip=127.0.0.1",
             "--ServerApp.port=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
             f"--LabApp.workspaces_dir={folder / 'workspaces'}",
             # window.jupyterapp: the test runs cells with JupyterLab's own commands, as the Run menu does.
             "--LabApp.expose_app_in_browser=True",
             "--ServerApp.allow_root=True"],  # containers and CI often run tests as root
            cwd=folder, env=env, stdout=log, stderr=log)
    try:
        yield _server_url(server, runtime, folder / "jupyterlab.log"), token
    finally:
        server.terminate()  # JupyterLab shuts its kernels down, and the lab servers go with the kernel
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _server_url(server: subprocess.Popen, runtime: Path, log: Path, timeout: float = 60) -> str:
    """The URL JupyterLab wrote in its runtime file once it listens (port 0: the system chose the port)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for info in runtime.glob("jpserver-*.json"):
            try:
                return json.loads(info.read_text())["url"].rstrip("/")
            except (ValueError, KeyError):
                pass  # being written
        if server.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")


def test_a_learner_changes_a_claim_reads_the_refusal_then_re_signs_and_gets_in(jupyterlab, chromium):
    from playwright.sync_api import expect, sync_playwright

    url, token = jupyterlab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{url}/lab/tree/{LESSON}?token={token}")
            page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)
            page.evaluate(RUN_TO_WORKBENCH)
            bench = page.locator(".jwt-workbench")
            expect(bench).to_contain_text("No token leaves this machine", timeout=60_000)

            claims = bench.locator(".jwt-wb-claims textarea")
            edited = claims.input_value().replace('"user"', '"admin"')
            assert '"admin"' in edited
            claims.fill(edited)
            bench.locator("button.jwt-wb-send").click()
            reply = bench.locator(".jwt-wb-reply")
            expect(reply).to_contain_text("GET /api/admin -> 401 (REFUSED)", timeout=20_000)
            expect(reply).to_contain_text('error="invalid_token"')
            expect(reply).to_contain_text("verification_failed (reason=signature is invalid)")

            bench.locator(".jwt-wb-sign select").select_option(label="HS256 with the lab's secret")
            bench.locator("button.jwt-wb-send").click()
            expect(reply).to_contain_text("GET /api/admin -> 200 (ACCEPTED)", timeout=20_000)
            expect(reply).to_contain_text('"message": "welcome to the admin area", "username": "alice"')
        finally:
            browser.close()
