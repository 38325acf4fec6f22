"""Each lab draws its own secrets: seeded by lesson and lab name, so two lessons' labs never share a stream."""

import subprocess
import sys

from coursekit.labtools.lab import lab_seed

DRAW = """
import requests
{imports}
from coursekit.labtools.lab import start_lab, lab_seed, lesson
lab = start_lab("lab")
r = requests.post(lab.url + "/session/login", data={{"username": "alice", "password": "alice-password"}})
tokens = requests.post(lab.url + "/oauth/token", data={{
    "grant_type": "password", "username": "alice", "password": "alice-password"}}).json()
print(lesson(), r.cookies["session"], tokens["refresh_token"])
"""


def draw(imports: str) -> tuple[str, str, str]:
    """A lesson's setup in a fresh process, as a kernel runs it: the session id and refresh token it draws."""
    out = subprocess.run([sys.executable, "-c", DRAW.format(imports=imports)], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    return tuple(out)


def common_run(a: str, b: str, size: int = 12) -> bool:
    """Whether a and b share any run of ``size`` characters."""
    return any(a[i:i + size] in b for i in range(len(a) - size + 1))


def test_the_lab_called_lab_in_two_lessons_draws_different_secrets():
    lesson01, session01, refresh01 = draw("from coursekit.exercises.ex01 import q1")
    lesson02, session02, refresh02 = draw("from coursekit.exercises.ex02 import q1")
    assert (lesson01, lesson02) == ("ex01", "ex02")
    assert session01 != session02 and refresh01 != refresh02
    for a in (session01, refresh01):
        for b in (session02, refresh02):
            assert not common_run(a, b), (a, b)
    assert draw("from coursekit.exercises.ex01 import q1") == (lesson01, session01, refresh01)  # and again the same


def test_seeds_differ_by_lesson_and_by_name():
    seeds = {lab_seed(name, lesson) for name in ("lab", "b", "refresh") for lesson in ("", "ex01", "ex02", "ex05")}
    assert len(seeds) == 12
