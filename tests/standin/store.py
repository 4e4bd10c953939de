"""The metadata store interface: JSON documents by (kind, key) plus append-only line streams.

Everything the stand-in knows (users, keys, projects, runs, artifacts, sweeps) is a JSON
document; run history / events / console output are numbered lines. Two backends implement
it: SQLite under the data dir (embedded mode) and MySQL (MYSQL=...). Keeping the schema this
small makes the two backends identical apart from connection handling and SQL dialect.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol


class Store(Protocol):
    #: held by callers around read-modify-write sequences (one process, one writer at a time)
    lock: threading.RLock

    def migrate(self) -> None: ...
    def get(self, kind: str, key: str) -> dict[str, Any] | None: ...
    def get_seq(self, kind: str, seq: int) -> dict[str, Any] | None: ...
    def put(self, kind: str, key: str, body: dict[str, Any], parent: str | None = None) -> int: ...
    def list(self, kind: str, parent: str | None = None) -> list[dict[str, Any]]: ...
    def delete(self, kind: str, key: str) -> None: ...
    def put_lines(self, run_seq: int, stream: str, offset: int, lines: list[str]) -> None: ...
    def lines(
        self, run_seq: int, stream: str, start: int = 0, end: int | None = None
    ) -> list[str]: ...
    def line_count(self, run_seq: int, stream: str) -> int: ...
    def delete_lines(self, run_seq: int) -> None: ...
    def close(self) -> None: ...


def open_store(settings) -> Store:
    """Pick the backend like wandb/local does: MYSQL set -> MySQL, else embedded SQLite."""
    if settings.mysql is not None:
        from .store_mysql import MysqlStore

        return MysqlStore(settings.mysql)
    from .store_sqlite import SqliteStore

    return SqliteStore(settings.vol)
