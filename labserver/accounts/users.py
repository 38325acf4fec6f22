"""User accounts: seeding, login checks, and the admin's changes of role and status."""

from __future__ import annotations

from dataclasses import dataclass

from labserver.accounts.passwords import Passwords
from labserver.control.settings import ROLES
from labserver.storage.store import Store
from labserver.web.errors import Conflict


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    disabled: bool

    @classmethod
    def from_row(cls, row) -> "User":
        return cls(row["id"], row["username"], row["role"], bool(row["disabled"]))

    def public(self) -> dict:
        return {"username": self.username, "role": self.role, "disabled": self.disabled}


class Users:
    def __init__(self, store: Store, passwords: Passwords) -> None:
        self._store = store
        self._passwords = passwords

    def seed(self, accounts, now: float) -> dict[str, str]:
        """Create the accounts that do not exist yet and give existing ones the password and role asked for.

        Returns what changed, by name ("created", "password updated", "role updated", ...). A changed password
        ends the account's sessions and refresh-token families: whoever knew the old one is logged out.
        """
        new, changed = {}, {}
        for username, password, role in accounts:
            if username in new or username in changed:
                continue
            row = self._store.one("SELECT id, password_hash, role FROM users WHERE username = ?", (username,))
            if row is None:
                new[username] = (password, role)
                continue
            what = [*(["password"] if not self._passwords.check(row["password_hash"], password) else []),
                    *(["role"] if row["role"] != role else [])]
            if what:
                changed[username] = (row["id"], password, role, what)
        hashes = self._passwords.hash_all([password for password, _role in new.values()])
        for (username, (_password, role)), password_hash in zip(new.items(), hashes):
            self._store.write(
                "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                (username, password_hash, role, now))
        for username, (user_id, password, role, what) in changed.items():
            with self._store.transaction() as db:
                db.write("UPDATE users SET role = ? WHERE id = ?", (role, user_id))
                if "password" in what:
                    db.write("UPDATE users SET password_hash = ? WHERE id = ?", (self._passwords.hash(password), user_id))
                    db.write("DELETE FROM sessions WHERE user_id = ?", (user_id,))
                    db.write("UPDATE refresh_families SET revoked_at = ?, revoked_reason = 'password changed' "
                             "WHERE user_id = ? AND revoked_at IS NULL", (now, user_id))
        return {**{name: "created" for name in new},
                **{name: " and ".join(what) + " updated" for name, (_id, _pw, _role, what) in changed.items()}}

    def authenticate(self, username: str, password: str) -> User | None:
        """Return the user if the password is right and the account enabled; one answer for every failure."""
        row = self._store.one("SELECT * FROM users WHERE username = ?", (username,))
        ok = self._passwords.check(row["password_hash"] if row else None, password)
        if not ok or row["disabled"]:
            return None
        return User.from_row(row)

    def get(self, user_id: int) -> User | None:
        row = self._store.one("SELECT id, username, role, disabled FROM users WHERE id = ?", (user_id,))
        return User.from_row(row) if row else None

    def by_name(self, username: str) -> User | None:
        row = self._store.one("SELECT id, username, role, disabled FROM users WHERE username = ?", (username,))
        return User.from_row(row) if row else None

    def all(self) -> list[User]:
        return [User.from_row(r) for r in
                self._store.all("SELECT id, username, role, disabled FROM users ORDER BY id")]

    def update(self, user: User, *, role: str | None = None, disabled: bool | None = None) -> User:
        """Change a role or the disabled flag; refuse to leave the server without an enabled admin."""
        if role is not None and role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        with self._store.transaction() as db:
            row = db.one("SELECT role, disabled FROM users WHERE id = ?", (user.id,))
            was_admin = row is not None and row["role"] == "admin" and not row["disabled"]
            if was_admin and (role not in (None, "admin") or disabled):
                others = db.one("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?",
                                (user.id,))["n"]
                if others == 0:
                    # Nobody could undo it: no admin left to change roles or enable accounts.
                    raise Conflict(f"{user.username} is the last admin: make another admin first")
            if role is not None:
                db.write("UPDATE users SET role = ? WHERE id = ?", (role, user.id))
            if disabled is not None:
                db.write("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user.id))
        return self.get(user.id)

    def reset(self, accounts) -> None:
        """Put seeded accounts back to their seeded role, enabled."""
        for username, _password, role in accounts:
            self._store.write("UPDATE users SET role = ?, disabled = 0 WHERE username = ?", (role, username))
