"""An optional denylist of revoked access-token ids: instant revocation, paid for with a store read per request."""

from __future__ import annotations

from labserver.store import Store


class Denylist:
    def __init__(self, store: Store, enabled: bool) -> None:
        self._store = store
        self.enabled = enabled

    def add(self, jti: str, exp: float, now: float) -> None:
        # Expired entries can go: their tokens fail the exp check anyway.
        self._store.write("DELETE FROM denylist WHERE exp <= ?", (now,))
        self._store.write("INSERT OR IGNORE INTO denylist (jti, exp) VALUES (?, ?)", (jti, exp))

    def contains(self, jti: str) -> bool:
        return self._store.one("SELECT 1 FROM denylist WHERE jti = ?", (jti,)) is not None
