"""Tampering with the audit trail as someone with database administrator rights would, on both
dialects, and what verification says about it.

The application cannot stop its database's administrator: on PostgreSQL a superuser (or the
table's owner) can `ALTER TABLE audit_events DISABLE TRIGGER USER`, on SQLite anyone who can
write the file can drop the triggers. What the hash chain guarantees is that every such change
is *named* by verify_chain (which row, and what happened to it), except two that leave a
consistent chain behind: a cut-off end and a history rehashed from the tampered row on. Those
need a head recorded elsewhere (the signed checkpoints of docanalysis.audit_signing), which
verify_chain takes as `expected_head`; the tests below show both sides honestly.

Rows: 30 events, seq s belongs to tenant 1 + (s - 1) % 3 (1, 2, 3, 1, 2, 3, ...).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from docanalysis.core.audit_chain import event_content, event_hash
from docanalysis.db.audit import append_event, read_events, verify_chain, verify_chain_stats
from docanalysis.db.engine import make_engine, transaction
from docanalysis.db.tables import audit_events
from tests.integration.conftest import PG_ADMIN_URL
from tests.support.pg_roles import login_role

T0 = datetime(2026, 3, 1, 9, 30, 0, 250000, tzinfo=UTC)
N = 30


def _tenant(seq: int) -> int:
    return 1 + (seq - 1) % 3


def _write_events(engine: Engine) -> list[str]:
    """N events, each in its own transaction, as the application writes them; their hashes."""
    hashes = []
    for seq in range(1, N + 1):
        with transaction(engine) as conn:
            event = append_event(
                conn,
                action=("document.upload", "run.done", "export.create")[seq % 3],
                subject=f"document:{seq}",
                actor=f"user{seq % 4} <u{seq % 4}@firm.example>",
                actor_id=seq % 4,
                tenant_id=_tenant(seq),
                matter_id=100 + _tenant(seq),
                details={"name": f"contract-{seq}.pdf", "pages": seq, "reviewed": seq % 2 == 0},
                occurred_at=T0 + timedelta(minutes=seq),
            )
        hashes.append(event.hash)
    return hashes


@pytest.fixture
def chain(db_engine: Engine) -> list[str]:
    hashes = _write_events(db_engine)
    with db_engine.connect() as conn:
        assert verify_chain(conn).ok
    return hashes


@contextmanager
def _as_administrator(db_url: str) -> Iterator[Connection]:
    """A transaction with the append-only guard out of the way. PostgreSQL: the test server's
    URLs name its superuser (conftest's PG_ADMIN_URL), who may disable the table's triggers.
    SQLite: the triggers are dropped, as anyone who can write the file can do."""
    engine = make_engine(db_url)
    try:
        with transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                assert make_url(db_url).username == make_url(PG_ADMIN_URL).username
                conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
                yield conn
                conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
            else:
                conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
                conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
                yield conn
    finally:
        engine.dispose()


def _row(conn: Connection, seq: int) -> dict[str, Any]:
    return dict(conn.execute(select(audit_events).where(audit_events.c.seq == seq)).one()._mapping)


def _put(conn: Connection, seq: int, values: dict[str, Any]) -> None:
    values = {k: v for k, v in values.items() if k != "seq"}
    conn.execute(audit_events.update().where(audit_events.c.seq == seq).values(**values))


def _rehash(conn: Connection, seq: int, *, relink: bool) -> str:
    """Recompute row `seq`'s hash over its stored content (the algorithm is public); with
    `relink`, first point its prev_hash at the current hash of the row before it."""
    row = _row(conn, seq)
    if relink:
        row["prev_hash"] = _row(conn, seq - 1)["hash"]
    row["occurred_at"] = row["occurred_at"].replace(tzinfo=UTC)  # SQLite gives naive UTC
    row["hash"] = event_hash(row["prev_hash"], event_content(row))
    _put(conn, seq, row)
    return str(row["hash"])


def _set_pages(conn: Connection, seq: int, pages: int) -> None:
    """Change one field inside a row's details, with each dialect's JSON functions."""
    if conn.dialect.name == "postgresql":
        statement = "UPDATE audit_events SET details = jsonb_set(details::jsonb, '{pages}', "
        statement += "to_jsonb(CAST(:pages AS int)))::json WHERE seq = :seq"
    else:
        statement = "UPDATE audit_events SET details = json_set(details, '$.pages', :pages) "
        statement += "WHERE seq = :seq"
    conn.execute(text(statement), {"pages": pages, "seq": seq})


def _verify(db_engine: Engine, tenant_id: int | None = None, **kwargs: Any) -> Any:
    with db_engine.connect() as conn:
        return verify_chain(conn, tenant_id, **kwargs)


def _verdict(check: Any) -> tuple[bool, int, int | None, str]:
    return check.ok, check.count, check.first_bad_seq, check.kind


def test_a_changed_detail_is_named_and_reported_to_its_tenant_only(
    db_url: str, db_engine: Engine, chain: list[str]
) -> None:
    with _as_administrator(db_url) as conn:
        _set_pages(conn, 12, 99)  # row 12 belongs to tenant 3
        assert _row(conn, 12)["details"]["pages"] == 99

    check = _verify(db_engine)
    assert _verdict(check) == (False, 11, 12, "changed")
    assert check.problem == "hash of seq 12 does not match its content (the row was changed)"
    assert check.last_hash == chain[10]
    # Tenant 3 owns the row: 3 of its events (seqs 3, 6, 9) were verified before it.
    assert _verdict(_verify(db_engine, 3)) == (False, 3, 12, "changed")
    # The others' rows and links are intact; all 10 of their events verify.
    for tenant in (1, 2):
        assert _verdict(_verify(db_engine, tenant)) == (True, 10, None, "")


def test_a_deleted_row_is_named_as_missing_for_every_tenant(
    db_url: str, db_engine: Engine, chain: list[str]
) -> None:
    with _as_administrator(db_url) as conn:
        assert conn.execute(text("DELETE FROM audit_events WHERE seq = 15")).rowcount == 1

    check = _verify(db_engine)
    assert _verdict(check) == (False, 14, 15, "missing")
    assert check.problem == "row 15 is missing: the trail jumps from row 14 to row 16 (deleted)"
    # Nobody can tell whose event it was: every tenant is told, with its own count before it.
    assert [_verdict(_verify(db_engine, t)) for t in (1, 2, 3)] == [
        (False, 5, 15, "missing"),
        (False, 5, 15, "missing"),
        (False, 4, 15, "missing"),
    ]


def test_two_whole_rows_swapped_are_named(db_url: str, db_engine: Engine, chain: list[str]) -> None:
    with _as_administrator(db_url) as conn:
        row8, row21 = _row(conn, 8), _row(conn, 21)
        _put(conn, 8, {"hash": "x" * 64})  # hash is unique: free row 8's first
        _put(conn, 21, row8)
        _put(conn, 8, row21)

    check = _verify(db_engine)
    assert _verdict(check) == (False, 7, 8, "reordered")
    assert check.problem == "rows 8 and 21 were swapped: each holds the other's recorded contents"
    assert {8, 21} <= set(check.rows)


def test_swapped_contents_with_recomputed_hashes_are_named(
    db_url: str, db_engine: Engine, chain: list[str]
) -> None:
    # Only what happened is exchanged; seq and the links stay, and each row's hash is
    # recomputed so that both rows check out on their own.
    moved = ("occurred_at", "actor_id", "actor", "tenant_id", "matter_id", "action", "subject")
    with _as_administrator(db_url) as conn:
        row8, row21 = _row(conn, 8), _row(conn, 21)
        _put(conn, 8, {k: row21[k] for k in (*moved, "details")})
        _put(conn, 21, {k: row8[k] for k in (*moved, "details")})
        _rehash(conn, 8, relink=False)
        _rehash(conn, 21, relink=False)

    check = _verify(db_engine)
    assert _verdict(check) == (False, 7, 8, "reordered")
    assert check.problem == (
        "rows 8 and 21 were swapped and their hashes recomputed to hide it: row 8 holds the "
        "contents recorded as row 21, and row 9 still refers to the original row 8"
    )


def test_an_edited_and_rehashed_row_is_named_for_the_tenants_it_touches(
    db_url: str, db_engine: Engine, chain: list[str]
) -> None:
    with _as_administrator(db_url) as conn:
        _set_pages(conn, 12, 99)
        _rehash(conn, 12, relink=False)  # row 13 still names row 12's original hash

    check = _verify(db_engine)
    assert _verdict(check) == (False, 11, 12, "changed")
    assert check.problem == (
        "row 12 was changed and its hash recomputed to hide it: row 13 still refers to the "
        "row's original hash"
    )
    # Row 12 is tenant 3's, row 13 (whose link it broke) tenant 1's; tenant 2 is untouched.
    assert _verdict(_verify(db_engine, 3)) == (False, 3, 12, "changed")
    assert _verdict(_verify(db_engine, 1)) == (False, 4, 12, "changed")
    assert _verdict(_verify(db_engine, 2)) == (True, 10, None, "")


def test_an_inserted_row_is_named_as_forged(
    db_url: str, db_engine: Engine, chain: list[str]
) -> None:
    with _as_administrator(db_url) as conn:
        # Make room at 18 (two steps: the primary key is checked row by row), then forge.
        conn.execute(text("UPDATE audit_events SET seq = -seq WHERE seq >= 18"))
        conn.execute(text("UPDATE audit_events SET seq = 1 - seq WHERE seq < 0"))
        forged = {**_row(conn, 17), "seq": 18, "actor": "mallory", "subject": "document:404"}
        forged.update(prev_hash=chain[16], hash=uuid.uuid4().hex * 2)
        conn.execute(audit_events.insert().values(**forged))

    check = _verify(db_engine)
    assert _verdict(check) == (False, 17, 18, "forged")
    assert check.problem == "row 18 was inserted: row 19 was written directly after row 17"


def test_a_cut_off_end_verifies_alone_and_is_caught_by_a_checkpoint(
    db_url: str, db_engine: Engine, chain: list[str]
) -> None:
    head = (N, chain[-1])  # what a signed checkpoint taken before the deletion recorded
    with _as_administrator(db_url) as conn:
        assert conn.execute(text(f"DELETE FROM audit_events WHERE seq = {N}")).rowcount == 1

    # The chain alone is consistent: the last row is simply gone. Honest result: ok.
    assert _verdict(_verify(db_engine)) == (True, N - 1, None, "")
    check = _verify(db_engine, expected_head=head)
    assert _verdict(check) == (False, N - 1, N, "truncated")
    assert check.problem == (
        "the chain ends before the checkpoint: it stops at row 29, the checkpoint covers row "
        "30, so row 30 is missing (the end was deleted)"
    )
    assert _verdict(_verify(db_engine, 2, expected_head=head)) == (False, 10, N, "truncated")


def test_a_full_rewrite_verifies_alone_and_is_caught_by_a_checkpoint(
    db_url: str, db_engine: Engine, chain: list[str]
) -> None:
    with _as_administrator(db_url) as conn:
        _set_pages(conn, 5, 99)
        new_head = ""
        for seq in range(5, N + 1):  # every hash from the changed row on, links kept
            new_head = _rehash(conn, seq, relink=True)

    # A consistent chain again: without a head recorded elsewhere nothing can see it.
    check = _verify(db_engine)
    assert _verdict(check) == (True, N, None, "")
    assert check.last_hash == new_head != chain[-1]
    check = _verify(db_engine, expected_head=(N, chain[-1]))
    assert _verdict(check) == (False, N - 1, N, "rewritten")
    assert check.problem == (
        "row 30 no longer has the hash the checkpoint recorded: the trail up to row 30 was "
        "rewritten and its hashes recomputed"
    )
    # An earlier checkpoint narrows it down: the rewrite reaches back past row 10.
    assert _verdict(_verify(db_engine, expected_head=(10, chain[9]))) == (
        False,
        9,
        10,
        "rewritten",
    )


def test_verify_chain_stats_reports_the_work(db_engine: Engine, chain: list[str]) -> None:
    with db_engine.connect() as conn:
        whole = verify_chain_stats(conn)
        tenant = verify_chain_stats(conn, 2)
    assert (whole.check.ok, whole.check.count, whole.rows_read, whole.segments) == (
        True,
        N,
        N,
        1,
    )
    assert (tenant.check.count, tenant.rows_read, tenant.segments) == (10, N, 1)
    assert whole.seconds > 0 and whole.rows_per_second > 0


# -- the guard as the application sees it ---------------------------------------------------


@pytest.fixture
def app_user_url(fresh_pg_url: str) -> Iterator[str]:
    """The migrated database, reached as an ordinary login role that may read and write
    audit_events (UPDATE, DELETE and TRUNCATE granted too, so that only the triggers stand in
    the way) but does not own it, as the application's runtime role should be."""
    with login_role(
        fresh_pg_url,
        "docaudit_app",
        "CREATE ROLE {role} LOGIN NOSUPERUSER",
        "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON audit_events TO {role}",
    ) as url:
        yield url


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET details = '{}' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 3",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "INSERT INTO audit_events SELECT * FROM audit_events WHERE seq = 1 "
        "ON CONFLICT (seq) DO UPDATE SET actor = 'mallory'",
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "DROP TRIGGER audit_events_no_update_delete ON audit_events",
    ],
)
def test_postgres_refuses_changes_from_the_application_user(
    app_user_url: str, statement: str
) -> None:
    engine = make_engine(app_user_url)
    try:
        for seq in (1, 2, 3):
            with transaction(engine) as conn:
                append_event(conn, action="test.write", subject=f"s:{seq}", actor="app")
        refusal = "audit_events is append-only|must be owner of (table|relation) audit_events"
        with pytest.raises(DBAPIError, match=refusal), transaction(engine) as conn:
            conn.execute(text(statement))
        with engine.connect() as conn:
            assert [e.seq for e in read_events(conn)] == [1, 2, 3]
            assert verify_chain(conn).ok
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET details = '{}' WHERE seq = 2",
        "UPDATE audit_events SET seq = seq + 100",
        "DELETE FROM audit_events WHERE seq = 3",
        "DELETE FROM audit_events",  # SQLite's TRUNCATE; its shortcut is off under a trigger
    ],
)
def test_sqlite_refuses_changes_through_the_application(sqlite_url: str, statement: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        for seq in (1, 2, 3):
            with transaction(engine) as conn:
                append_event(conn, action="test.write", subject=f"s:{seq}", actor="app")
        with (
            pytest.raises(DBAPIError, match="audit_events is append-only"),
            transaction(engine) as conn,
        ):
            conn.execute(text(statement))
        with engine.connect() as conn:
            assert [e.seq for e in read_events(conn)] == [1, 2, 3]
            assert verify_chain(conn).ok
    finally:
        engine.dispose()


def test_sqlite_insert_or_replace_cannot_overwrite_an_event(sqlite_url: str) -> None:
    # REPLACE deletes the conflicting row without firing DELETE triggers (SQLite's
    # recursive_triggers is off by default); migration 0005's BEFORE INSERT trigger refuses it.
    engine = make_engine(sqlite_url)
    try:
        for seq in (1, 2, 3):
            with transaction(engine) as conn:
                append_event(conn, action="test.write", subject=f"s:{seq}", actor="app")
        columns = ", ".join(c.name for c in audit_events.columns)
        replaced = columns.replace("actor_id, actor,", "actor_id, 'mallory',")
        with pytest.raises(DBAPIError, match="append-only"), transaction(engine) as conn:
            conn.execute(
                text(
                    f"INSERT OR REPLACE INTO audit_events ({columns}) "
                    f"SELECT {replaced} FROM audit_events WHERE seq = 2"
                )
            )
        with engine.connect() as conn:
            assert [e.actor for e in read_events(conn)] == ["app", "app", "app"]
            assert verify_chain(conn).ok
    finally:
        engine.dispose()


@pytest.fixture
def app_role_url(fresh_pg_url: str) -> Iterator[str]:
    """The migrated database reached as a login role that is only a member of docanalysis_app,
    the role migration 0006 grants the application, exactly as a deployment sets it up."""
    with login_role(
        fresh_pg_url,
        "docanalysis_login",
        "CREATE ROLE {role} LOGIN NOSUPERUSER IN ROLE docanalysis_app",
    ) as url:
        yield url


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET details = '{}' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 3",
        "TRUNCATE audit_events",
        "UPDATE guard_verdicts SET verdict = 'safe'",
        "DELETE FROM guard_verdicts",
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
    ],
)
def test_the_application_role_has_no_privilege_to_change_the_trail(
    app_role_url: str, statement: str
) -> None:
    engine = make_engine(app_role_url)
    try:
        for seq in (1, 2, 3):  # it may append
            with transaction(engine) as conn:
                append_event(conn, action="test.write", subject=f"s:{seq}", actor="app")
        with transaction(engine) as conn:  # and write the other tables
            conn.execute(text("INSERT INTO tenants (name, created_at) VALUES ('firm', now())"))
            conn.execute(text("UPDATE tenants SET name = 'firm llp' WHERE name = 'firm'"))
        refusal = "permission denied|must be owner of (table|relation)"
        with pytest.raises(DBAPIError, match=refusal), transaction(engine) as conn:
            conn.execute(text(statement))
        with engine.connect() as conn:
            assert [e.seq for e in read_events(conn)] == [1, 2, 3]
            assert verify_chain(conn).ok
    finally:
        engine.dispose()
