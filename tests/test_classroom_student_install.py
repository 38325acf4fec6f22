"""What a class's learners install holds no answers: the wheel from tools/student_wheel.py leaves
``coursekit/answers`` (reference solutions, the capstone's hidden cases) out, and the kit says so."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from notebook_tools import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    import importlib.util

    spec = importlib.util.spec_from_file_location("student_wheel", ROOT / "tools" / "student_wheel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(tmp_path_factory.mktemp("dist"))


def test_the_learners_wheel_has_the_checks_and_no_answers(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "coursekit/kit/exercise.py" in names and "coursekit/exercises/ex09/verifier.py" in names
    assert "labserver/app.py" in names
    assert [n for n in names if n.startswith("coursekit/answers")] == []


def test_in_the_learners_install_solution_shows_none_and_the_hidden_cases_are_absent(wheel, tmp_path):
    zipfile.ZipFile(wheel).extractall(tmp_path)
    script = (
        "import coursekit, coursekit.exercises.ex01 as ex\n"
        "assert coursekit.__file__.startswith(%r), coursekit.__file__\n"
        "try:\n    ex.q1.solution_source()\nexcept LookupError as e:\n    print('LookupError', e)\n"
        "ex.q1.solution()\n"
        "import importlib.util\nprint(importlib.util.find_spec('coursekit.answers'))\n" % str(tmp_path))
    # -S: site-packages without their .pth files, so that this checkout's editable install is not seen.
    packages = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), packages]), "JWT_COURSE_PROGRESS": "off"}
    result = subprocess.run([sys.executable, "-S", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "LookupError the solutions are not part of this copy of the course",
        "No solution here: the solutions are not part of this copy of the course.",
        "None",
    ]
