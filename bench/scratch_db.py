"""A temporary PostgreSQL database for one benchmark run: created, migrated, dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_database(admin_url: str = ADMIN_URL, prefix: str = "bench") -> Iterator[str]:
    """The URL of a new database beside `admin_url`'s, migrated to the head; dropped on leaving
    (connections still open to it are ended)."""
    import psycopg

    from docanalysis.db.migrate import upgrade_database

    name = f"docanalysis_{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade_database(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
