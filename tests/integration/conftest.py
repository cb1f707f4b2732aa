"""Database fixtures: a migrated SQLite file per test, and real PostgreSQL databases.

PostgreSQL is not optional: CI starts it, so an unreachable server fails the test with a clear
message instead of skipping it. One migrated template database is built per session; each test
that asks for `fresh_pg_url` (or `db_url[postgres]`) gets its own copy, created from the
template in a fraction of a second, so exact assertions (seq 1..n) never see another test's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from docanalysis.db.engine import make_engine
from docanalysis.db.migrate import upgrade_database
from docanalysis.services.runtime import Runtime
from tests.support.pg_roles import APP_LOGIN, login_role

PG_ADMIN_URL = os.environ.get(
    "DOCANALYSIS_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}). These tests need the real "
            "server: start it (CI does) or set DOCANALYSIS_TEST_PG_ADMIN_URL.",
            pytrace=False,
        )


def _database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def create_pg_database(template: str | None = None) -> str:
    """A new, uniquely named database (empty, or a copy of `template`); returns its URL."""
    name = f"docanalysis_test_{uuid.uuid4().hex[:12]}"
    clause = f" TEMPLATE {template}" if template else ""
    with _admin() as admin:
        admin.execute(f"CREATE DATABASE {name}{clause}")
    return _database_url(name)


def drop_pg_database(url: str) -> None:
    # FORCE ends connections a test left open (a pooled engine not yet disposed).
    with _admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


@pytest.fixture(scope="session")
def pg_template_name() -> Iterator[str]:
    """A migrated database that nobody connects to, so it can be copied (TEMPLATE)."""
    url = create_pg_database()
    try:
        upgrade_database(url)
        yield url.rsplit("/", 1)[1]
    finally:
        drop_pg_database(url)


@pytest.fixture(scope="session")
def pg_url(pg_template_name: str) -> Iterator[str]:
    """A migrated PostgreSQL database shared by the whole session (rows from other tests)."""
    url = create_pg_database(template=pg_template_name)
    yield url
    drop_pg_database(url)


@pytest.fixture
def fresh_pg_url(pg_template_name: str) -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own, dropped afterwards."""
    url = create_pg_database(template=pg_template_name)
    yield url
    drop_pg_database(url)


@pytest.fixture
def app_pg_url(fresh_pg_url: str) -> Iterator[str]:
    """fresh_pg_url as a deployment's application reaches it: an ordinary login role, member
    of docanalysis_app and nothing else, so row-level security applies (migration 0015)."""
    with login_role(fresh_pg_url, "docanalysis_runtime", APP_LOGIN) as url:
        yield url


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """An empty (unmigrated) PostgreSQL database, dropped afterwards."""
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """A SQLite file that does not exist yet (the engine creates it and its folder)."""
    return f"sqlite:///{tmp_path}/db/docanalysis.sqlite3"


@pytest.fixture
def sqlite_url(empty_sqlite_url: str) -> str:
    """A migrated SQLite file of this test's own."""
    upgrade_database(empty_sqlite_url)
    return empty_sqlite_url


DIALECTS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    """The dialect name, "sqlite" or "postgres": a test using it runs once per dialect."""
    return str(request.param)


@pytest.fixture
def db_url(dialect: str, request: pytest.FixtureRequest) -> str:
    """A migrated database of this test's own, on each dialect in turn."""
    name = "sqlite_url" if dialect == "sqlite" else "fresh_pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def empty_db_url(dialect: str, request: pytest.FixtureRequest) -> str:
    """An unmigrated database of this test's own, on each dialect in turn."""
    name = "empty_sqlite_url" if dialect == "sqlite" else "empty_pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on `db_url`, disposed after the test."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def views_rt(
    django_ready: None, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """The runtime the views and the API see (patched into get_runtime): this test's database,
    each dialect in turn, the fake model, a guard that releases everything, and a queue that
    records the runs it was sent."""
    from tests.integration.test_pipeline import runtime
    from tests.support.fakes import FixedGuard

    rt = runtime(db_url, tmp_path, FixedGuard())
    monkeypatch.setattr("docanalysis.web.views.common.get_runtime", lambda: rt)
    yield rt
    rt.engine.dispose()


# A Redis server of the test's own (the fault and canary tests kill or inspect it), and the
# browser tests' runtime (module-scoped: each test module gets its own data dir).
from tests.support.fleet import private_redis  # noqa: E402, F401
from tests.support.web import web  # noqa: E402, F401
