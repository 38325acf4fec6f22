"""Seeded labs differ between OS users: the seed is mixed with a salt only its user can read.

The published values (what the notebooks show) come back with LABSERVER_SEED_SALT=published, as in this test
run; without it, each user's salt file decides, and a classmate who knows the seed cannot compute the keys.
"""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys

import pytest

from labserver.control.randomness import SeededRandomness, randomness_for, user_salt

NOBODY = 65534

_DRAW = """
import json, os, sys
from labserver.control.randomness import randomness_for  # imported while the code can still be read
if sys.argv[1] != "ours":
    os.setgroups([]); os.setgid(int(sys.argv[1])); os.setuid(int(sys.argv[1]))
print(json.dumps({"hs256 key": randomness_for(7).bytes(32).hex(), "refresh token": randomness_for(7).token()}))
"""


def draw(home, uid: int | None = None) -> dict:
    """What a lab seeded with 7 draws first, for a user whose home is ``home`` (no LABSERVER_SEED_SALT)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LABSERVER_SEED_SALT", "XDG_STATE_HOME")}
    env["HOME"] = str(home)
    run = subprocess.run([sys.executable, "-c", _DRAW, "ours" if uid is None else str(uid)], env=env,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_this_test_run_gets_the_published_values_the_notebooks_show():
    assert os.environ["LABSERVER_SEED_SALT"] == "published"
    assert randomness_for(7).bytes(16) == random.Random(7).randbytes(16)


def test_a_user_gets_the_same_values_on_every_run_from_a_salt_file_only_they_can_read(tmp_path):
    first, second = draw(tmp_path), draw(tmp_path)
    assert first == second
    salt = tmp_path / ".local" / "state" / "jwt-course" / "lab-seed-salt"
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600
    assert stat.S_IMODE(salt.parent.stat().st_mode) == 0o700
    published = SeededRandomness(7)
    assert first["hs256 key"] != published.bytes(32).hex()  # what anyone can compute from the seed alone


@pytest.mark.skipif(os.geteuid() != 0, reason="acting as another OS user needs root (setuid); not root here")
def test_another_os_user_with_the_same_seed_gets_other_keys_and_cannot_read_ours(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    os.chown(theirs, NOBODY, NOBODY)
    tmp_path.chmod(0o755)
    mine = draw(ours)
    classmate = draw(theirs, uid=NOBODY)
    assert classmate["hs256 key"] != mine["hs256 key"] and classmate["refresh token"] != mine["refresh token"]
    salt = ours / ".local" / "state" / "jwt-course" / "lab-seed-salt"
    ours.chmod(0o755)  # even with the home folder open, the salt file is the owner's alone
    probe = subprocess.run([sys.executable, "-c", f"import os; os.setgroups([]); os.setgid({NOBODY}); "
                            f"os.setuid({NOBODY}); open({str(salt)!r}).read()"], capture_output=True, text=True)
    assert probe.returncode != 0 and ("PermissionError" in probe.stderr)


def test_an_environment_salt_is_used_as_given(monkeypatch):
    monkeypatch.setenv("LABSERVER_SEED_SALT", "class of 2030")
    assert user_salt() == b"class of 2030"
    assert randomness_for(7).bytes(16) == SeededRandomness(7, b"class of 2030").bytes(16)
    assert randomness_for(7).bytes(16) != SeededRandomness(7).bytes(16)
