"""What pyproject.toml installs: every package folder, every data file, and the ``labserver`` command.

An editable install (``make install``, Binder's postBuild) imports subpackages straight from the folders, so a
folder left out of the packages would only go missing from a built wheel; these tests catch it here.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import setuptools

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the back-port, a test dependency for that version only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("labserver", "coursekit")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _found_packages() -> set[str]:
    """The packages setuptools installs, found the way pyproject.toml asks."""
    setuptools_config = PYPROJECT["tool"]["setuptools"]
    if "packages" in setuptools_config and isinstance(setuptools_config["packages"], list):
        return set(setuptools_config["packages"])
    find = setuptools_config["packages"]["find"]
    assert find.get("namespaces") is False  # setuptools' find_packages, as below (pyproject's default is namespaces)
    return set(setuptools.find_packages(where=str(ROOT / find.get("where", ["."])[0]),
                                        include=find.get("include", ["*"]), exclude=find.get("exclude", ())))


def _folders_with_python(package: str) -> set[str]:
    return {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / package).rglob("*.py")
            if "__pycache__" not in path.parts}


def test_every_folder_of_python_code_is_a_package_that_gets_installed():
    expected = set().union(*(_folders_with_python(p) for p in PACKAGES))
    assert {"labserver", "labserver.launch", "labserver.web.routes", "coursekit"} <= expected
    # A folder of modules without an __init__.py is a namespace package: found by an editable install, left
    # out of a wheel. Every folder must have one.
    assert {f for f in expected if not (ROOT / f.replace(".", "/") / "__init__.py").is_file()} == set()
    assert _found_packages() == expected


def test_every_data_file_in_the_packages_is_listed_as_package_data():
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]
    data = {(package, path.relative_to(ROOT / package).as_posix())
            for package in PACKAGES for path in (ROOT / package).rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts}
    assert ("labserver", "data/weak-secrets.txt") in data and ("labserver", "static/index.html") in data
    unlisted = {(package, name) for package, name in data
                if not any(fnmatch.fnmatch(name, pattern) for pattern in patterns.get(package, ()))}
    assert unlisted == set()


def _main_of_python_m_labserver():
    """The function ``python -m labserver`` calls, read from labserver/__main__.py."""
    tree = ast.parse((ROOT / "labserver" / "__main__.py").read_text())
    (imported,) = [node for node in tree.body if isinstance(node, ast.ImportFrom)]
    return getattr(importlib.import_module(imported.module), imported.names[0].name)


def test_the_console_script_runs_what_python_m_labserver_runs():
    declared = PYPROJECT["project"]["scripts"]["labserver"]
    module, _, name = declared.partition(":")
    assert getattr(importlib.import_module(module), name) is _main_of_python_m_labserver()
    # The installed command is this one (make install re-installs when pyproject.toml changes), and it runs.
    (installed,) = entry_points(group="console_scripts", name="labserver")
    assert installed.value == declared
    script = Path(sys.executable).parent / "labserver"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout and "--ready-line" not in result.stdout
