"""Binder and JupyterHub images (repo2docker) get the course's own packages from ./postBuild.

What can be checked without Docker: the script is where repo2docker looks and is valid bash, and run the
way repo2docker runs it (in the repository, with the environment's python first on PATH, every dependency
already installed) it makes labserver and coursekit importable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from notebook_tools import ROOT

POSTBUILD = ROOT / "postBuild"


def test_postbuild_is_an_executable_bash_script_where_repo2docker_reads_it():
    assert os.access(POSTBUILD, os.X_OK)
    assert POSTBUILD.read_text().startswith("#!/bin/bash\n")
    subprocess.run(["bash", "-n", str(POSTBUILD)], check=True)
    # With a binder/ (or .binder/) folder, repo2docker would ignore environment.yml and postBuild at the root.
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()
    assert "python -m pip install --no-deps --editable ." in POSTBUILD.read_text()


def test_postbuild_installs_the_course_packages_into_an_environment_that_has_the_dependencies(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", "postBuild"):
        shutil.copy2(ROOT / name, repo / name)
    for package in ("labserver", "coursekit"):
        shutil.copytree(ROOT / package, repo / package, ignore=shutil.ignore_patterns("__pycache__"))

    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # The dependencies (and pip), as environment.yml would have installed them: this test run's own.
    # A path in a .pth file is added as it is; the .pth files inside it (our editable install) are not run.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    where = [python, "-c", "import coursekit, labserver; print(coursekit.__file__, labserver.__file__)"]

    before = subprocess.run(where, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert before.returncode != 0 and "No module named 'coursekit'" in before.stderr

    subprocess.run(["bash", "postBuild"], cwd=repo, env=env, check=True, capture_output=True, timeout=300)

    after = subprocess.run(where, cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    assert after.stdout.split() == [str(repo / package / "__init__.py") for package in ("coursekit", "labserver")]


def test_postbuild_turns_the_news_prompt_off_and_keeps_the_environments_page_config(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "jupyter-config", repo / "jupyter-config")
    shutil.copy2(ROOT / "postBuild", repo / "postBuild")
    prefix = tmp_path / "env"
    target = prefix / "etc" / "jupyter" / "labconfig" / "page_config.json"
    target.parent.mkdir(parents=True)
    target.write_text('{"disabledExtensions": {"some-extension": true}, "other": 1}')
    fake_pip = tmp_path / "bin"
    fake_pip.mkdir()
    # The script's other steps (pip install, matplotlib) are not what this test is about: a python that runs
    # only the page-config step, with sys.prefix pointing at the environment above.
    (fake_pip / "python").write_text(f"#!/bin/bash\n[ \"$1\" = - ] || exit 0\n"
                                     f"exec {sys.executable} -c \"import sys; sys.prefix = '{prefix}'; "
                                     f"exec(sys.stdin.read())\"\n")
    (fake_pip / "python").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_pip}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", "postBuild"], cwd=repo, env=env, check=True, capture_output=True, timeout=60)
    assert json.loads(target.read_text()) == {
        "disabledExtensions": {"some-extension": True, "@jupyterlab/apputils-extension:announcements": True},
        "other": 1}
