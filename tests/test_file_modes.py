"""Files with secrets: created owner-only (0600), the key file replaced without following symlinks, warnings."""

from __future__ import annotations

import os
import stat

import pytest

from conftest import Auth, make_client
from labserver.control.randomness import randomness_for
from labserver.storage.files import InsecureFileWarning
from labserver.tokens.keys import KeyRing


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def lax_umask():
    old = os.umask(0o022)  # the common default: new files world-readable unless the program says otherwise
    yield
    os.umask(old)


def test_store_and_keys_files_are_created_owner_only(tmp_path, lax_umask):
    db = tmp_path / "class.sqlite3"
    client = make_client(db=str(db))
    Auth(client).token()  # writes: the WAL and its index exist now
    files = [db, tmp_path / "class.sqlite3-wal", tmp_path / "class.sqlite3-shm", tmp_path / "class.keys.json"]
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_rotation_never_writes_through_a_symlink_planted_at_the_temporary_name(tmp_path, lax_umask):
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    keys = tmp_path / "lab.keys.json"
    ring = KeyRing("HS256", str(keys), randomness_for(None), keep_for=60, now=0)
    (tmp_path / "lab.keys.json.tmp").symlink_to(victim)
    ring.rotate(10)
    assert victim.read_text() == "untouched"
    assert mode(keys) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.keys.json", "lab.keys.json.tmp", "victim.txt"]


def test_a_keys_file_others_can_read_gets_a_warning(tmp_path):
    keys = tmp_path / "lab.keys.json"
    KeyRing("HS256", str(keys), randomness_for(None), keep_for=60, now=0)
    keys.chmod(0o644)
    with pytest.warns(InsecureFileWarning, match=r"keys file .*lab\.keys\.json is readable by other users \(mode 0644\)"):
        KeyRing("HS256", str(keys), randomness_for(None), keep_for=60, now=0)
