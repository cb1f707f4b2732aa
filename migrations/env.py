"""Alembic environment: our metadata only, one URL resolution, serialized upgrades.

The URL comes from (first found): config.attributes["url"] (docanalysis.db.migrate),
`-x url=...`, the DATABASE_URL environment variable, docanalysis.config.load_settings().
Django's tables (auth_*, django_*) share the database; autogenerate and `alembic check` ignore
every table that docanalysis.db.tables.metadata does not name.
"""

from __future__ import annotations

import os
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection, func, select

from docanalysis.config import load_settings
from docanalysis.db.engine import make_engine
from docanalysis.db.tables import metadata as target_metadata

# Key of the PostgreSQL advisory lock held while migrating ("docmigra" in ASCII).
MIGRATION_LOCK_KEY = 0x646F_636D_6967_7261

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    return str(url or os.environ.get("DATABASE_URL") or load_settings().database_url)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Reflect only our tables (and the default schema), never Django's."""
    if type_ == "schema":
        return name is None
    if type_ == "table":
        return name in target_metadata.tables
    return True


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # A second guard for objects reflected without going through include_name.
    if type_ == "table":
        return name in target_metadata.tables
    return True


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        include_name=include_name,
        include_object=include_object,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    url = database_url()
    _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    # SQLite: batch mode for ALTERs it lacks. transactional_ddl: the engine's BEGIN IMMEDIATE
    # then wraps the whole upgrade, so a second upgrader waits and finds the work done.
    _configure(connection=connection, render_as_batch=sqlite, transactional_ddl=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two upgraders (e.g. two containers starting) run one after the other; the second
            # reads alembic_version after the first committed and has nothing to do.
            connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        context.run_migrations()


def _run_sqlite(connection: Connection) -> None:
    # Batch mode rebuilds a table (copy, drop, rename); with foreign keys enforced, dropping a
    # referenced table fails. SQLite ignores this pragma inside a transaction, so it is set on
    # the raw connection before the migration's transaction begins, and checked at the end.
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        _run(connection)
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as conn:
            (_run_sqlite if conn.dialect.name == "sqlite" else _run)(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
