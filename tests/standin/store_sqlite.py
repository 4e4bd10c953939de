"""Embedded-mode metadata store: one SQLite file under the data dir (WAL, one connection)."""

from __future__ import annotations

import os
import sqlite3

from .store_sql import SqlStore


class SqliteStore(SqlStore):
    ph = "?"
    schema = [
        "CREATE TABLE IF NOT EXISTS docs (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " kind TEXT NOT NULL,"
        " k TEXT NOT NULL, parent TEXT, body TEXT NOT NULL, UNIQUE(kind, k))",
        "CREATE INDEX IF NOT EXISTS docs_parent ON docs(kind, parent)",
        "CREATE TABLE IF NOT EXISTS run_lines (run_seq INTEGER NOT NULL, stream TEXT NOT NULL,"
        " idx INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY(run_seq, stream, idx))",
    ]

    upsert_sql = (
        "INSERT INTO docs(kind, k, parent, body) VALUES (?,?,?,?) "
        "ON CONFLICT(kind, k) DO UPDATE SET parent=excluded.parent, body=excluded.body"
    )

    def __init__(self, vol: str) -> None:
        super().__init__()
        os.makedirs(os.path.join(vol, "db"), exist_ok=True)
        self.path = os.path.join(vol, "db", "standin.sqlite3")
        # One connection shared by all request threads; SqlStore.lock serialises its use.
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")

    def _conn(self):
        return self._db

    def close(self) -> None:
        with self.lock:
            self._db.close()
