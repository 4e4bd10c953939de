"""External metadata store: MySQL through PyMySQL (MYSQL=mysql://user:pass@host:port/db)."""

from __future__ import annotations

import logging
import time

import pymysql

from .store_sql import SqlStore

log = logging.getLogger("standin.mysql")


class MysqlStore(SqlStore):
    ph = "%s"
    schema = [
        "CREATE TABLE IF NOT EXISTS docs (seq BIGINT AUTO_INCREMENT PRIMARY KEY,"
        " kind VARCHAR(32) NOT NULL, k VARCHAR(255) NOT NULL, parent VARCHAR(255),"
        " body LONGTEXT NOT NULL, UNIQUE KEY kind_k (kind, k), KEY kind_parent (kind, parent))"
        " CHARACTER SET utf8mb4",
        "CREATE TABLE IF NOT EXISTS run_lines (run_seq BIGINT NOT NULL,"
        " stream VARCHAR(16) NOT NULL,"
        " idx BIGINT NOT NULL, body LONGTEXT NOT NULL, PRIMARY KEY(run_seq, stream, idx))"
        " CHARACTER SET utf8mb4",
    ]

    upsert_sql = (
        "INSERT INTO docs(kind, k, parent, body) VALUES (?,?,?,?) "
        "ON DUPLICATE KEY UPDATE parent=VALUES(parent), body=VALUES(body)"
    )
    #: check an idle connection before use (the server may have closed it)
    ping_after = 30.0

    def __init__(self, url) -> None:
        super().__init__()
        self.url = url
        self._db = None
        self._last_use = 0.0

    def _connect(self):
        return pymysql.connect(
            host=self.url.host,
            port=self.url.port,
            user=self.url.user,
            password=self.url.password,
            database=self.url.database,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=10,
            # Every store call holds one lock: a query blocked forever on a connection whose
            # server vanished (restart without a clean close) would stall every request.
            # With these bounds it fails, and _transaction reconnects and retries.
            read_timeout=30,
            write_timeout=30,
        )

    def _conn(self):
        # One connection, used under SqlStore.lock; reconnect if the server dropped it.
        now = time.monotonic()
        if self._db is None:
            self._db = self._connect()
        elif now - self._last_use > self.ping_after:
            self._db.ping(reconnect=True)
        self._last_use = now
        return self._db

    def close(self) -> None:
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _transaction(self, statements):
        # A dropped connection (server restart, idle timeout) is retried once on a new one;
        # every statement the store issues is idempotent, so a retry is safe.
        try:
            return super()._transaction(statements)
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as e:
            log.warning("MySQL connection lost (%s); reconnecting", e)
            with self.lock:
                try:
                    if self._db is not None:
                        self._db.close()
                except Exception:
                    pass
                self._db = None
            return super()._transaction(statements)
