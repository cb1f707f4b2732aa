"""Engines for the two profiles: a SQLite file (embedded) and PostgreSQL (production).

Engines are built by the caller from settings (never at import time) and passed inward.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from docanalysis.db import tenancy

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> URL:
    """PostgreSQL URLs always use the psycopg 3 driver, whatever scheme the operator wrote."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Stop pysqlite from issuing its own (deferred) BEGIN; _on_sqlite_begin issues ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        _use_wal(cursor)
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """WAL lets readers proceed while one writer holds the lock. Switching a file to WAL needs
    it to itself and SQLite answers "locked" at once rather than waiting, so wait here: a
    second process opening a fresh file finds it switched by the first."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


WRITE = {"sqlite_begin": "IMMEDIATE"}


def _on_sqlite_begin(conn: Connection) -> None:
    # Writers (transaction(), engine.begin()) take the write lock up front with IMMEDIATE: two
    # writers queue on busy_timeout instead of deadlocking on upgrade, and audit appends (read
    # the last seq, insert the next) are serialized. Readers (engine.connect()) begin deferred,
    # so with WAL a page that polls a status never waits for a worker's write.
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def make_engine(url: str) -> Engine:
    """An engine for `url`. SQLite: foreign keys on, WAL, 30 s busy timeout, write transactions
    BEGIN IMMEDIATE. PostgreSQL: psycopg 3, connections checked before use, every transaction
    begun in the current tenant scope (db.tenancy: row-level security)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    engine = create_engine(parsed, pool_pre_ping=True)
    tenancy.install(engine)
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only connection; on SQLite its transaction is deferred (no write lock)."""
    with engine.connect() as conn:
        conn.execution_options(sqlite_begin="DEFERRED")
        yield conn


__all__ = ["make_engine", "normalize_url", "reading", "transaction"]
