"""Who can log in: the accounts given at start, or the public demo accounts where they are harmless.

The demo accounts' passwords are printed in the README, so anyone who can reach a server holding them
can log in as admin. They are therefore created only on a loopback address and only into an empty
store: a class database started once with real accounts never gains them, even if a later start
forgets ``--user``. Real accounts come from ``--user NAME:PASSWORD:ROLE`` or from a users file
(``--users-file``), which keeps passwords out of the process list that every local user can read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from labserver.control.settings import DEMO_USERS, ROLES, Settings
from labserver.storage.files import warn_if_readable_by_others

if TYPE_CHECKING:  # the command line imports this module; it should not pay for SQLite and argon2
    from labserver.accounts.users import Users
    from labserver.storage.store import Store

Account = tuple[str, str, str]


def parse_account(text: str) -> Account:
    """Read NAME:PASSWORD:ROLE (the password may contain colons; the role is after the last one)."""
    name, sep1, rest = text.partition(":")
    password, sep2, role = rest.rpartition(":")
    if not (sep1 and sep2 and name and password) or role not in ROLES:
        raise ValueError(f"expected NAME:PASSWORD:ROLE with ROLE one of {', '.join(ROLES)}")
    return name, password, role


def read_users_file(path: str) -> tuple[Account, ...]:
    """Read one NAME:PASSWORD:ROLE per line; blank lines and lines starting with # are skipped.

    A byte-order mark (Windows editors write one) is not part of the first name; a name given twice is an
    error naming both lines, not a silent choice of one.
    """
    warn_if_readable_by_others(path, "users file")
    accounts, lines = [], {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            account = parse_account(line)
        except ValueError as exc:
            raise ValueError(f"{path}, line {number}: {exc}") from None
        if account[0] in lines:
            raise ValueError(f"{path}, line {number}: account {account[0]} is already on line {lines[account[0]]}")
        lines[account[0]] = number
        accounts.append(account)
    return tuple(accounts)


def configured(settings: Settings) -> tuple[Account, ...]:
    """The accounts the settings ask for: ``--user`` ones, then the users file's; each name once."""
    accounts = settings.users + (read_users_file(settings.users_file) if settings.users_file else ())
    names = [name for name, _password, _role in accounts]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"account {twice[0]} is given twice (--user and --users-file together name each account "
                         f"once)")
    return accounts


def seed(settings: Settings, users: Users, store: Store, now: float
         ) -> tuple[tuple[Account, ...], bool, dict[str, str]]:
    """Create the configured accounts (updating existing ones), or the demo ones if allowed; return what was
    seeded, whether it is the demo, and what changed in accounts the store already had."""
    accounts = configured(settings)
    if accounts:
        changes = users.seed(accounts, now)
        return accounts, False, {name: what for name, what in changes.items() if what != "created"}
    if settings.is_loopback and store.one("SELECT 1 FROM users") is None:
        users.seed(DEMO_USERS, now)
        return DEMO_USERS, True, {}
    return (), False, {}


def login_lines(users: Users, seeded: tuple[Account, ...], demo: bool) -> list[str]:
    """One banner line per account that can log in; only the demo passwords (public anyway) are shown."""
    public = {name: password for name, password, _role in seeded} if demo else {}
    lines = []
    for user in users.all():
        if user.disabled:
            continue
        if user.username in public:
            lines.append(f"  demo account {user.username} / {public[user.username]} ({user.role})")
        else:
            lines.append(f"  account {user.username} ({user.role})")
    return lines or ["  no accounts: start with --user NAME:PASSWORD:ROLE or --users-file FILE"]


def change_lines(changed: dict[str, str]) -> list[str]:
    """One banner line per existing account this start changed (--user on a database that had it)."""
    return [f"  account {name}: {what} (as given at start; its sessions and logins ended)" if "password" in what
            else f"  account {name}: {what} (as given at start)" for name, what in sorted(changed.items())]
