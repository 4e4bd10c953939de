"""SQL shared by the SQLite and MySQL stores. Subclasses provide the connection and dialect."""

from __future__ import annotations

import json
import threading
from typing import Any


class SqlStore:
    #: placeholder style of the DB-API driver ("?" for sqlite3, "%s" for PyMySQL)
    ph = "?"
    #: the schema ("migrations"), per dialect
    schema: list[str] = []
    #: INSERT-or-UPDATE of a document (kind, k, parent, body), per dialect
    upsert_sql = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()

    # -- connection handling, per backend --------------------------------------------------
    def _conn(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._transaction([(sql, params)])[-1]

    def _transaction(self, statements: list[tuple[str, tuple | list]]) -> list[list[tuple]]:
        """Run statements in one transaction (one commit: one fsync on MySQL).

        A statement whose params is a list of tuples runs once per tuple (executemany).
        """
        with self.lock:
            conn = self._conn()
            cur = conn.cursor()
            results = []
            try:
                for sql, params in statements:
                    sql = sql.replace("?", self.ph)
                    if isinstance(params, list):
                        if params:
                            cur.executemany(sql, params)
                        results.append([])
                        continue
                    cur.execute(sql, params)
                    results.append(list(cur.fetchall()) if cur.description else [])
                conn.commit()
                return results
            except Exception:
                conn.rollback()
                raise
            finally:
                cur.close()

    def migrate(self) -> None:
        for stmt in self.schema:
            self._execute(stmt)

    # -- documents ---------------------------------------------------------------------------
    @staticmethod
    def _doc(row) -> dict[str, Any]:
        body = json.loads(row[1])
        body["_seq"] = int(row[0])
        return body

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        rows = self._execute("SELECT seq, body FROM docs WHERE kind=? AND k=?", (kind, key))
        return self._doc(rows[0]) if rows else None

    def get_seq(self, kind: str, seq: int) -> dict[str, Any] | None:
        rows = self._execute("SELECT seq, body FROM docs WHERE kind=? AND seq=?", (kind, int(seq)))
        return self._doc(rows[0]) if rows else None

    def put(self, kind: str, key: str, body: dict[str, Any], parent: str | None = None) -> int:
        """Insert or replace a document; returns its sequence number (stable across updates)."""
        # keys starting with "_" are per-request annotations (_seq, _via), never stored
        data = json.dumps({k: v for k, v in body.items() if not k.startswith("_")}, default=str)
        results = self._transaction(
            [
                (self.upsert_sql, (kind, key, parent, data)),
                ("SELECT seq FROM docs WHERE kind=? AND k=?", (kind, key)),
            ]
        )
        return int(results[-1][0][0])

    def list(self, kind: str, parent: str | None = None) -> list[dict[str, Any]]:
        if parent is None:
            rows = self._execute("SELECT seq, body FROM docs WHERE kind=? ORDER BY seq", (kind,))
        else:
            rows = self._execute(
                "SELECT seq, body FROM docs WHERE kind=? AND parent=? ORDER BY seq", (kind, parent)
            )
        return [self._doc(r) for r in rows]

    def delete(self, kind: str, key: str) -> None:
        self._execute("DELETE FROM docs WHERE kind=? AND k=?", (kind, key))

    # -- line streams (history, events, console) ------------------------------------------
    def put_lines(self, run_seq: int, stream: str, offset: int, lines: list[str]) -> None:
        # file_stream retries resend the same offsets: replace, don't duplicate.
        if not lines:
            return
        self._transaction(
            [
                (
                    "DELETE FROM run_lines WHERE run_seq=? AND stream=? AND idx>=? AND idx<?",
                    (run_seq, stream, offset, offset + len(lines)),
                ),
                (
                    "INSERT INTO run_lines(run_seq, stream, idx, body) VALUES (?,?,?,?)",
                    [(run_seq, stream, offset + i, line) for i, line in enumerate(lines)],
                ),
            ]
        )

    def lines(self, run_seq: int, stream: str, start: int = 0, end: int | None = None) -> list[str]:
        end = 2**62 if end is None else end
        rows = self._execute(
            "SELECT body FROM run_lines WHERE run_seq=? AND stream=? AND idx>=? AND idx<?"
            " ORDER BY idx",
            (run_seq, stream, start, end),
        )
        return [r[0] for r in rows]

    def line_count(self, run_seq: int, stream: str) -> int:
        rows = self._execute(
            "SELECT MAX(idx) FROM run_lines WHERE run_seq=? AND stream=?", (run_seq, stream)
        )
        return 0 if not rows or rows[0][0] is None else int(rows[0][0]) + 1

    def delete_lines(self, run_seq: int) -> None:
        self._execute("DELETE FROM run_lines WHERE run_seq=?", (run_seq,))
