"""Files with secrets: created owner-only (0600), the key file replaced without following symlinks, warnings."""

from __future__ import annotations

import os
import stat

import pytest

from conftest import Auth, make_client
from labserver.control.randomness import randomness_for
from labserver.storage.files import UnsafeFile
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


@pytest.mark.parametrize("readable", [0o644, 0o640, 0o604])
def test_a_keys_file_others_can_read_is_refused_and_left_as_it_is(tmp_path, readable):
    keys = tmp_path / "lab.keys.json"
    KeyRing("HS256", str(keys), randomness_for(None), keep_for=60, now=0)
    keys.chmod(readable)
    before = keys.read_bytes()
    with pytest.raises(UnsafeFile, match=rf"keys file .*lab\.keys\.json is readable by other users "
                                         rf"\(mode {readable:04o}\): refused, whoever read its keys can sign"):
        KeyRing("HS256", str(keys), randomness_for(None), keep_for=60, now=0)
    assert keys.read_bytes() == before and mode(keys) == readable


# --- files another user planted -------------------------------------------------------------------------

PLANTED = {"database": "class.sqlite3", "database WAL file": "class.sqlite3-wal",
           "database shared-memory file": "class.sqlite3-shm", "keys file": "class.keys.json",
           "database rollback journal": "class.sqlite3-journal"}


def plant(path, how: str, tmp_path) -> None:
    """Put a file at ``path`` the way another user of the machine could."""
    if how == "symlink":
        elsewhere = tmp_path / "theirs"
        elsewhere.write_text("")
        path.symlink_to(elsewhere)
    else:
        path.write_text("")
        path.chmod(0o666 if how == "writable by others" else 0o600)
        if how == "another user's":
            os.chown(path, 65534, 65534)


@pytest.mark.parametrize("how", ["symlink", "writable by others", "another user's"])
@pytest.mark.parametrize("what", PLANTED)
def test_a_planted_store_or_keys_file_is_refused_naming_it_and_the_owners_own_is_used(tmp_path, what, how):
    if how == "another user's" and os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root; not root here")
    db = tmp_path / "class.sqlite3"
    plant(tmp_path / PLANTED[what], how, tmp_path)
    with pytest.raises(UnsafeFile) as refused:
        make_client(db=str(db))
    assert str(refused.value).startswith(f"{what} {tmp_path / PLANTED[what]} ")
    assert {"symlink": "is a symbolic link", "writable by others": "can be changed by other users (mode 0666)",
            "another user's": "belongs to another user (uid 65534)"}[how] in str(refused.value)
    # The owner's start, beside it: the same paths once the planted file is gone.
    (tmp_path / PLANTED[what]).unlink()
    assert Auth(make_client(db=str(db))).token()["token_type"] == "Bearer"


def test_the_command_line_refuses_a_planted_keys_file_before_starting(tmp_path):
    import subprocess
    import sys

    plant(tmp_path / "class.keys.json", "symlink", tmp_path)
    run = subprocess.run([sys.executable, "-m", "labserver", "--port", "0", "--db", str(tmp_path / "class.sqlite3")],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2
    assert f"keys file {tmp_path / 'class.keys.json'} is a symbolic link" in run.stderr
    assert not (tmp_path / "class.sqlite3").exists()  # nothing was started or created


def test_the_command_line_refuses_a_keys_file_others_can_read_even_beside_a_store_in_memory(tmp_path):
    import subprocess
    import sys

    keys = tmp_path / "shared.keys.json"
    KeyRing("HS256", str(keys), randomness_for(None), keep_for=60, now=0)
    keys.chmod(0o644)
    run = subprocess.run([sys.executable, "-m", "labserver", "--port", "0", "--keys", str(keys)],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2
    assert f"keys file {keys} is readable by other users (mode 0644): refused" in run.stderr


@pytest.mark.parametrize("how", ["world-readable", "symlink"])
def test_make_local_pki_never_keeps_an_old_key_files_mode_nor_writes_through_a_symlink(tmp_path, how):
    from coursekit.labtools.tls import make_local_pki

    key = tmp_path / "server.key"
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    if how == "symlink":
        key.symlink_to(victim)
    else:
        key.write_text("an old key")
        key.chmod(0o644)
    pki = make_local_pki(tmp_path)
    assert not key.is_symlink() and mode(pki.key) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert victim.read_text() == "untouched"


@pytest.mark.parametrize(("option", "what", "how", "says"), [
    ("--tls-key", "TLS key", "symlink", "is a symbolic link"),
    ("--tls-key", "TLS key", "writable by others", "can be changed by other users (mode 0666)"),
    ("--tls-key", "TLS key", "another user's", "belongs to another user (uid 65534)"),
    ("--tls-cert", "TLS certificate", "writable by others", "can be changed by other users (mode 0666)"),
    ("--tls-cert", "TLS certificate", "another user's", "belongs to another user (uid 65534)"),
    ("--users-file", "users file", "writable by others", "can be changed by other users (mode 0666)"),
    ("--users-file", "users file", "another user's", "belongs to another user (uid 65534)"),
])
def test_the_command_line_refuses_a_planted_tls_key_certificate_or_users_file(tmp_path, option, what, how, says):
    import subprocess
    import sys

    from labserver.launch.cli import check_files, settings_from, parser

    if how == "another user's" and os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root; not root here")
    planted = tmp_path / "planted"
    plant(planted, how, tmp_path)
    other = {"--tls-key": ["--tls-cert", str(tmp_path / "c.pem")], "--tls-cert": ["--tls-key", str(tmp_path / "k.pem")],
             "--users-file": []}[option]
    argv = ["--port", "0", "--db", str(tmp_path / "class.sqlite3"), option, str(planted), *other]
    with pytest.raises(UnsafeFile) as refused:
        check_files(settings_from(parser().parse_args(argv)))
    assert str(refused.value).startswith(f"{what} {planted} {says}")
    run = subprocess.run([sys.executable, "-m", "labserver", *argv], capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and f"{what} {planted} {says}" in run.stderr
    assert not (tmp_path / "class.sqlite3").exists()  # nothing was started or created
