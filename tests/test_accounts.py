"""Who can log in: demo accounts only on loopback and only into an empty store; a banner that names everyone."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

import labserver
from conftest import T0, make_client
from helpers import error
from labserver.accounts.initial import read_users_file
from labserver.launch.cli import main, parser, settings_from, to_argv
from labserver.launch.serve import banner
from labserver.storage.files import InsecureFileWarning

ADMIN_LOGIN = {"grant_type": "password", "username": "admin", "password": "admin-password"}
INCORRECT = error("invalid_grant", "Incorrect username or password")


def banner_of(client) -> list[str]:
    out = io.StringIO()
    lab = client.app.state.lab
    banner(lab.settings, file=out, lab=lab)
    return out.getvalue().splitlines()[1:]


def test_on_a_network_address_without_accounts_nobody_gets_the_demo_admin():
    client = make_client(host="0.0.0.0", lab_controls=False)
    r = client.post("/oauth/token", data=ADMIN_LOGIN)
    assert r.status_code == 400, r.text
    assert r.json() == INCORRECT
    assert client.app.state.lab.users.all() == []
    assert banner_of(client) == ["  no accounts: start with --user NAME:PASSWORD:ROLE or --users-file FILE"]


def test_a_class_database_never_gains_the_demo_accounts_on_a_later_start(tmp_path):
    db = str(tmp_path / "class.sqlite3")
    teacher = (("teacher", "teacher-s3cret", "admin"),)
    make_client(db=db, users=teacher).app.state.lab.store.close()

    again = make_client(db=db)  # the same database, --user forgotten
    r = again.post("/oauth/token", data=ADMIN_LOGIN)
    assert r.status_code == 400, r.text
    assert r.json() == INCORRECT
    assert [u.username for u in again.app.state.lab.users.all()] == ["teacher"]
    # The banner lists the teacher, who can log in, though this start named nobody.
    assert banner_of(again) == ["  account teacher (admin)", "  lab controls: http://127.0.0.1:8000/lab/clock, with "
                                "header Lab-Secret: held by the program that started this server"]


def test_the_banner_lists_every_account_that_can_log_in_and_no_password_but_the_demo_ones(tmp_path):
    db = str(tmp_path / "class.sqlite3")
    make_client(db=db, users=(("teacher", "t-s3cret", "admin"),)).app.state.lab.store.close()
    client = make_client(db=db, users=(("carol", "c-s3cret", "user"),))
    assert banner_of(client)[:2] == ["  account teacher (admin)", "  account carol (user)"]
    assert "s3cret" not in "\n".join(banner_of(client))
    demo = make_client()
    assert banner_of(demo)[:3] == ["  demo account alice / alice-password (user)",
                                   "  demo account bob / bob-password (user)",
                                   "  demo account admin / admin-password (admin)"]


def test_a_users_file_creates_its_accounts(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text("# the class\ncarol:pass:with:colons:admin\n\ndave:d-s3cret:user\n")
    path.chmod(0o600)
    settings = settings_from(parser().parse_args(["--users-file", str(path)]))
    assert read_users_file(settings.users_file) == (("carol", "pass:with:colons", "admin"),
                                                    ("dave", "d-s3cret", "user"))
    client = make_client(users_file=str(path))
    r = client.post("/oauth/token", data={"grant_type": "password", "username": "carol",
                                          "password": "pass:with:colons"})
    assert r.status_code == 200, r.text
    assert [u.username for u in client.app.state.lab.users.all()] == ["carol", "dave"]


def test_a_users_file_others_can_read_gets_a_warning(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text("carol:c-s3cret:user\n")
    path.chmod(0o644)
    with pytest.warns(InsecureFileWarning, match=r"users file .* is readable by other users \(mode 0644\)"):
        read_users_file(str(path))


def test_a_malformed_users_file_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "users.txt"
    path.write_text("carol:c-s3cret:root\n")
    path.chmod(0o600)
    with pytest.raises(SystemExit) as exc:
        main(["--users-file", str(path)])
    assert exc.value.code == 2
    assert "users.txt, line 1: expected NAME:PASSWORD:ROLE" in capsys.readouterr().err


def test_start_hands_passwords_over_in_a_private_file_not_on_the_command_line():
    with labserver.start(users=[("carol", "carols-s3cret", "admin")], frozen_at=T0) as server:
        # A server forked from the fork server shows that process's command line; a spawned one, its own.
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().decode()
        assert "carols-s3cret" not in cmdline
        assert "--users-file" in cmdline or "labserver.launch.forkserver" in cmdline
        assert server.settings.users == () and server.settings.users_file
        assert os.stat(server.settings.users_file).st_mode & 0o777 == 0o600
        r = server.http.post(server.url + "/oauth/token", data={
            "grant_type": "password", "username": "carol", "password": "carols-s3cret"})
        assert r.status_code == 200, r.text
    assert "--users-file" in to_argv(server.settings)


def test_user_on_an_existing_database_updates_the_account_and_the_banner_says_so(tmp_path):
    """A teacher's password leaked: a restart with a new one locks the old password and its logins out."""
    db = str(tmp_path / "class.sqlite3")
    first = make_client(db=db, users=(("teacher", "old-s3cret", "user"),))
    old = first.post("/oauth/token", data={"grant_type": "password", "username": "teacher", "password": "old-s3cret"})
    assert old.status_code == 200, old.text
    first.app.state.lab.store.close()

    again = make_client(db=db, users=(("teacher", "new-s3cret", "admin"),))
    assert banner_of(again)[:2] == [
        "  account teacher (admin)",
        "  account teacher: password and role updated (as given at start; its sessions and logins ended)"]
    # Whoever still has the old password, or the old login's refresh token, beside the teacher's new login.
    stale = again.post("/oauth/token", data={"grant_type": "password", "username": "teacher", "password": "old-s3cret"})
    assert (stale.status_code, stale.json()) == (400, error("invalid_grant", "Incorrect username or password"))
    replayed = again.post("/oauth/token", data={"grant_type": "refresh_token",
                                                "refresh_token": old.json()["refresh_token"]})
    assert (replayed.status_code, replayed.json()) == (400, error("invalid_grant", "refresh token has been revoked"))
    fresh = again.post("/oauth/token", data={"grant_type": "password", "username": "teacher", "password": "new-s3cret"})
    assert fresh.status_code == 200, fresh.text
    assert again.get("/admin/users", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"}).status_code == 200
    again.app.state.lab.store.close()

    same = make_client(db=db, users=(("teacher", "new-s3cret", "admin"),))  # nothing to change: nothing said
    assert banner_of(same)[:2] == ["  account teacher (admin)", "  lab controls: http://127.0.0.1:8000/lab/clock, "
                                   "with header Lab-Secret: held by the program that started this server"]


def test_a_users_file_saved_with_a_byte_order_mark_names_its_first_account_as_written(tmp_path):
    path = tmp_path / "users.txt"
    path.write_bytes("\ufeffcarol:c-s3cret:user\n".encode())
    path.chmod(0o600)
    assert read_users_file(str(path)) == (("carol", "c-s3cret", "user"),)


def test_a_name_given_twice_is_an_error_naming_both_places(tmp_path, capsys):
    path = tmp_path / "users.txt"
    path.write_text("carol:first:user\ndave:d:user\ncarol:second:admin\n")
    path.chmod(0o600)
    with pytest.raises(ValueError, match=r"users.txt, line 3: account carol is already on line 1"):
        read_users_file(str(path))
    once = tmp_path / "once.txt"
    once.write_text("carol:first:user\n")
    once.chmod(0o600)
    with pytest.raises(SystemExit):
        main(["--users-file", str(once), "--user", "carol:other:admin"])
    assert "account carol is given twice" in capsys.readouterr().err
