"""An optional denylist of revoked access-token ids: instant revocation, paid for with store reads and writes.

With it on, the server also remembers which login (refresh family) each access token came from, so that
ending a login ends its access tokens too (RFC 7009 §2.1). That bookkeeping is exactly the state a
stateless token was meant to avoid: the lessons switch it on to show the cost.
"""

from __future__ import annotations

from labserver.storage.store import Store


class Denylist:
    def __init__(self, store: Store, enabled: bool) -> None:
        self._store = store
        self.enabled = enabled

    def track(self, claims: dict, family_id: str) -> None:
        """Remember which login an access token belongs to (only while the denylist is on)."""
        if self.enabled:
            self._store.write("INSERT INTO access_tokens (jti, family_id, exp) VALUES (?, ?, ?)",
                              (claims["jti"], family_id, claims["exp"]))

    def add(self, jti: str, exp: float, now: float) -> None:
        # Expired entries can go: their tokens fail the exp check anyway.
        self._store.write("DELETE FROM denylist WHERE exp <= ?", (now,))
        self._store.write("DELETE FROM access_tokens WHERE exp <= ?", (now,))
        self._store.write("INSERT OR IGNORE INTO denylist (jti, exp) VALUES (?, ?)", (jti, exp))

    def add_family(self, db: Store, family_id: str, now: float) -> None:
        """Deny every unexpired access token issued to this login; call inside the revoking transaction."""
        if self.enabled:
            db.write("INSERT OR IGNORE INTO denylist (jti, exp) "
                     "SELECT jti, exp FROM access_tokens WHERE family_id = ? AND exp > ?", (family_id, now))

    def contains(self, jti: str) -> bool:
        return self._store.one("SELECT 1 FROM denylist WHERE jti = ?", (jti,)) is not None
