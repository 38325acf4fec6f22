"""The embedded SQLite store, and the counters of reads and writes it does for each kind of request."""

from __future__ import annotations

import contextvars
import sqlite3
import threading
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator

from labserver.storage.files import check_own, create_private

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL
);
-- A cookie session. The cookie holds the id; the store keeps only its SHA-256.
CREATE TABLE IF NOT EXISTS sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   REAL NOT NULL,
    last_seen_at REAL NOT NULL
);
-- One login's chain of refresh tokens; revoking it ends every token in it.
CREATE TABLE IF NOT EXISTS refresh_families (
    id             TEXT PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id),
    created_at     REAL NOT NULL,
    last_used_at   REAL NOT NULL,
    revoked_at     REAL,
    revoked_reason TEXT,
    client_id      TEXT  -- the client the login was for (NULL in a database made before this column)
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES refresh_families(id),
    issued_at  REAL NOT NULL,
    used_at    REAL
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens(family_id);
-- Authorization codes of the code flow (the code itself is kept as a hash), one use each; family_id is the
-- login their first use started, revoked if the code comes again.
CREATE TABLE IF NOT EXISTS authorization_codes (
    code_hash             TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    user_id               INTEGER NOT NULL REFERENCES users(id),
    code_challenge        TEXT,
    code_challenge_method TEXT,
    issued_at             REAL NOT NULL,
    used_at               REAL,
    family_id             TEXT
);
-- Revoked access tokens, kept until they would have expired anyway.
CREATE TABLE IF NOT EXISTS denylist (
    jti TEXT PRIMARY KEY,
    exp REAL NOT NULL
);
-- Which login each access token came from; kept only while the denylist is on.
CREATE TABLE IF NOT EXISTS access_tokens (
    jti       TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    exp       REAL NOT NULL
);
"""

# The database and the files SQLite keeps beside it: each must be the owner's own (labserver.storage.files).
STORE_FILES = (("", "database"), ("-wal", "database WAL file"), ("-shm", "database shared-memory file"),
               ("-journal", "database rollback journal"))

TABLES = ("users", "sessions", "refresh_families", "refresh_tokens", "denylist", "access_tokens",
          "authorization_codes")

# Which kind of request the current code runs for ("GET /api/me"); set by the app's middleware.
request_kind: contextvars.ContextVar[dict | None] = contextvars.ContextVar("request_kind", default=None)


class Store:
    """One SQLite connection behind a lock: simple, and no "database is locked" inside a server.

    Every statement is counted as a read (SELECT) or a write against the current request kind,
    which is how the lessons show what a stateless token saves.
    """

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        if path != ":memory:":
            # Owner-only: it holds password hashes. SQLite would give its -wal and -shm files the same mode,
            # but would also open ones another user planted before us: we make all three ourselves (0600,
            # never through a symlink), and an existing one must be ours (labserver.storage.files).
            # A rollback journal is not made (WAL mode uses none), only checked: one left beside the database is
            # replayed into it on open ("hot journal"), so one another user planted would write into our store.
            for suffix, what in STORE_FILES:
                (check_own if suffix == "-journal" else create_private)(path + suffix, what)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 5000")
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(SCHEMA)
        # A database made before refresh families named their client gains the column (NULL for its logins).
        if "client_id" not in {row[1] for row in self._db.execute("PRAGMA table_info(refresh_families)")}:
            self._db.execute("ALTER TABLE refresh_families ADD COLUMN client_id TEXT")
        self.counters: dict[str, dict[str, int]] = defaultdict(lambda: {"requests": 0, "reads": 0, "writes": 0})

    def _count(self, sql: str) -> None:
        counts = request_kind.get()
        if counts is not None:
            counts["reads" if sql.lstrip()[:6].upper() == "SELECT" else "writes"] += 1

    def one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        with self._lock:
            self._count(sql)
            return self._db.execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            self._count(sql)
            return self._db.execute(sql, params).fetchall()

    def write(self, sql: str, params: tuple = ()) -> int:
        """Run one INSERT/UPDATE/DELETE and return how many rows it changed."""
        with self._lock:
            self._count(sql)
            return self._db.execute(sql, params).rowcount

    @contextmanager
    def transaction(self) -> Iterator["Store"]:
        """Hold the store for a read-check-write sequence that must not interleave with another."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def dump(self, table: str) -> list[dict]:
        """Return a table's rows, uncounted (the lab's window into the store)."""
        if table not in TABLES:
            raise KeyError(table)
        with self._lock:
            return [dict(row) for row in self._db.execute(f"SELECT * FROM {table}")]  # noqa: S608 - whitelisted

    def clear(self, *tables: str) -> None:
        with self.transaction():
            for table in tables:
                if table not in TABLES:
                    raise KeyError(table)
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - whitelisted

    def close(self) -> None:
        with self._lock:
            self._db.close()
