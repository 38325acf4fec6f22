"""Cookie sessions: an opaque random id in the cookie, a row in the store, idle and absolute expiry."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from labserver.accounts.users import User
from labserver.control.randomness import Randomness
from labserver.control.settings import Settings
from labserver.storage.store import Store


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret: what the store keeps instead of the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    user: User
    created_at: float
    expires_at: float


class Sessions:
    def __init__(self, store: Store, settings: Settings, randomness: Randomness) -> None:
        self._store = store
        self._settings = settings
        self._random = randomness

    def cookie_name(self) -> str:
        # The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain: only over TLS.
        return "__Host-session" if self._settings.uses_tls else "session"

    def create(self, user: User, now: float) -> str:
        """Start a session and return its id for the cookie (256 random bits)."""
        session_id = self._random.token(32)
        self._store.write("INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                          (digest(session_id), user.id, now, now))
        return session_id

    def lookup(self, session_id: str, now: float) -> Session | None:
        """Return the live session for this id and note the visit; expired sessions are deleted."""
        row = self._store.one(
            "SELECT s.created_at, s.last_seen_at, u.id, u.username, u.role, u.disabled "
            "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?", (digest(session_id),))
        if row is None:
            return None
        expires_at = self._expires_at(row["created_at"], row["last_seen_at"])
        if now >= expires_at or row["disabled"]:
            self.delete(session_id)
            return None
        self._store.write("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", (now, digest(session_id)))
        return Session(User.from_row(row), row["created_at"], self._expires_at(row["created_at"], now))

    def _expires_at(self, created_at: float, last_seen_at: float) -> float:
        return min(last_seen_at + self._settings.session_idle_ttl,
                   created_at + self._settings.session_absolute_ttl)

    def delete(self, session_id: str) -> bool:
        return self._store.write("DELETE FROM sessions WHERE id_hash = ?", (digest(session_id),)) > 0
