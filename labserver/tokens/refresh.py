"""Refresh tokens (RFC 6749 §6): opaque, stored as hashes, rotated on every use, grouped in families.

A family is one login's chain of refresh tokens. Presenting a token that was already used means two
parties hold it (a thief and the user); we cannot tell which is which, so the whole family is revoked,
newest token included (RFC 9700 §4.14.2). Each refresh reads the user again: a role change lands in the
next access token, and a disabled user gets nothing. Disabling a user also ends all of that user's
families at once (and, with the denylist on, their live access tokens): a stolen refresh token of a
disabled account must not wait to be presented to be known dead.
"""

from __future__ import annotations

from dataclasses import dataclass

from labserver.accounts.sessions import digest
from labserver.accounts.users import User, Users
from labserver.control.audit import AuditLog
from labserver.control.randomness import Randomness
from labserver.control.settings import Settings
from labserver.storage.store import Store
from labserver.tokens.denylist import Denylist
from labserver.web.errors import InvalidGrant


USER_DISABLED = "user is disabled"


@dataclass(frozen=True)
class Rotation:
    """The outcome of a successful refresh: who it is for now, the new refresh token, and the client the login
    was for."""

    user: User
    refresh_token: str
    family_id: str
    client_id: str


class RefreshTokens:
    def __init__(self, store: Store, settings: Settings, users: Users, randomness: Randomness,
                 audit: AuditLog, denylist: Denylist) -> None:
        self._store = store
        self._settings = settings
        self._users = users
        self._random = randomness
        self._audit = audit
        self._denylist = denylist

    def start_family(self, user: User, now: float) -> tuple[str, str]:
        """Begin a family at login; return its first refresh token and the family id."""
        with self._store.transaction() as db:
            return self.start_family_in(db, user, now)

    def start_family_in(self, db: Store, user: User, now: float, client_id: str | None = None) -> tuple[str, str]:
        """start_family inside a transaction the caller holds (an authorization code is used up in the same one),
        for ``client_id`` (by default the lessons' own client)."""
        family_id = self._random.token(12)
        client_id = client_id or self._settings.client_id
        db.write("INSERT INTO refresh_families (id, user_id, created_at, last_used_at, client_id) "
                 "VALUES (?, ?, ?, ?, ?)", (family_id, user.id, now, now, client_id))
        return self._add_token(db, family_id, now), family_id

    def _add_token(self, db: Store, family_id: str, now: float) -> str:
        token = self._random.token(32)
        db.write("INSERT INTO refresh_tokens (token_hash, family_id, issued_at) VALUES (?, ?, ?)",
                 (digest(token), family_id, now))
        return token

    def rotate(self, token: str, now: float, client_id: str | None = None) -> Rotation:
        """Use up a refresh token and return its successor, or raise InvalidGrant and say why. ``client_id`` is
        the client the request named, if it named one: it must be the one the login was for (RFC 6749 §6)."""
        with self._store.transaction() as db:
            # Decide inside the transaction, raise after it: a revocation must be committed, not rolled back.
            outcome = self._rotate(db, token, now, client_id)
        if isinstance(outcome, InvalidGrant):
            raise outcome
        return outcome

    def _rotate(self, db: Store, token: str, now: float, client_id: str | None) -> Rotation | InvalidGrant:
        row = db.one(
            "SELECT t.token_hash, t.used_at, f.id AS family_id, f.user_id, f.created_at, f.last_used_at, "
            "f.revoked_at, f.revoked_reason, f.client_id FROM refresh_tokens t "
            "JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ?", (digest(token),))
        if row is None:
            return InvalidGrant("refresh token is unknown")
        family_id, settings = row["family_id"], self._settings
        if client_id is not None and client_id != (row["client_id"] or settings.client_id):
            # RFC 6749 §6: a refresh token is bound to the client it was issued to. Refused before anything else,
            # and left unused: the token is still its own client's.
            return InvalidGrant("refresh token was issued to another client")
        if row["revoked_at"] is not None:
            if row["revoked_reason"] == USER_DISABLED:
                return InvalidGrant(USER_DISABLED)
            return InvalidGrant("refresh token has been revoked")
        if now >= row["created_at"] + settings.refresh_absolute_ttl:
            self._revoke(db, family_id, now, "absolute lifetime reached")
            return InvalidGrant("refresh token has expired: log in again")
        if now >= row["last_used_at"] + settings.refresh_idle_ttl:
            self._revoke(db, family_id, now, "idle too long")
            return InvalidGrant("refresh token has expired from disuse: log in again")
        if row["used_at"] is not None:
            if now - row["used_at"] >= settings.refresh_reuse_interval:
                self._audit.record("reuse_detected", family=family_id, user_id=row["user_id"])
                self._revoke(db, family_id, now, "refresh token reused")
                return InvalidGrant("refresh token was already used: this login is revoked, log in again")
            self._audit.record("reuse_within_interval", family=family_id, user_id=row["user_id"])
        else:
            db.write("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?", (now, row["token_hash"]))
        user = self._users.get(row["user_id"])
        if user is None or user.disabled:
            self._revoke(db, family_id, now, USER_DISABLED)
            return InvalidGrant(USER_DISABLED)
        db.write("UPDATE refresh_families SET last_used_at = ? WHERE id = ?", (now, family_id))
        return Rotation(user, self._add_token(db, family_id, now), family_id, row["client_id"] or settings.client_id)

    def revoke(self, token: str, now: float, client_id: str | None = None) -> str | None:
        """Revoke the family of this refresh token; return its id, or None if the token is unknown.

        ``client_id``: the client asking, if it named itself; a token issued to another client is refused
        (RFC 7009 §2.1), as its refresh is: one client cannot end another's login."""
        with self._store.transaction() as db:
            row = db.one("SELECT t.family_id, f.client_id FROM refresh_tokens t "
                         "JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ?", (digest(token),))
            if row is None:
                return None
            if client_id is not None and client_id != (row["client_id"] or self._settings.client_id):
                raise InvalidGrant("refresh token was issued to another client")
            self._revoke(db, row["family_id"], now, "revoked by the client")
            return row["family_id"]

    def end_logins_of(self, user: User, now: float) -> None:
        """Revoke every live family of a user who was just disabled (with the denylist on, their access tokens too)."""
        with self._store.transaction() as db:
            for row in db.all("SELECT id FROM refresh_families WHERE user_id = ? AND revoked_at IS NULL", (user.id,)):
                self._revoke(db, row["id"], now, USER_DISABLED)

    def revoke_family_in(self, db: Store, family_id: str, now: float, reason: str) -> None:
        """Revoke a family inside a transaction the caller holds."""
        self._revoke(db, family_id, now, reason)

    def _revoke(self, db: Store, family_id: str, now: float, reason: str) -> None:
        if db.write("UPDATE refresh_families SET revoked_at = ?, revoked_reason = ? "
                    "WHERE id = ? AND revoked_at IS NULL", (now, reason, family_id)):
            self._audit.record("family_revoked", family=family_id, reason=reason)
            self._denylist.add_family(db, family_id, now)
