"""PostgreSQL row-level security, the tenants' backstop (issue 9, item 4; ADR 2).

Two firms' data fill every tenant-owned table (a document analysed to the end, reviewed, an API
key with a matter and an idempotency key, a webhook with a delivery, a tenant role). Then raw
queries, made as an ordinary login role set up as a deployment sets up the application's
(member of docanalysis_app, nothing else), must see exactly one firm's rows with that firm in
scope, and no row at all without a scope; writes into another firm are refused. The role
itself must have no way around the policies: not a superuser, no BYPASSRLS, no table of its
own, no membership of a role that owns one or of the lookup functions' role.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from docanalysis.db.engine import make_engine, reading, transaction
from docanalysis.db.tables import findings, idempotency_keys, webhook_deliveries, webhook_endpoints
from docanalysis.db.tenancy import EVERY, tenant_of, tenant_scope
from docanalysis.services import apikeys, roles
from docanalysis.services.corrections import Decision, review_finding
from docanalysis.services.matters import create_matter
from docanalysis.services.steps import run_to_end
from docanalysis.services.submit import submit_document
from tests.conftest import REPO, THREE_PAGE_CONTRACT
from tests.integration.test_pipeline import ALICE, runtime
from tests.support.fakes import FixedGuard
from tests.support.pg_roles import APP_LOGIN, login_role

pytestmark = pytest.mark.postgres

# Every tenant-owned table, and how an administrator (who bypasses the policies) finds each
# row's tenant: written out here, independently of the migration's policies.
TENANT_OF_ROW = {
    "matters": "SELECT t::text, t.tenant_id FROM matters t",
    "documents": "SELECT t::text, t.tenant_id FROM documents t",
    "tenant_roles": "SELECT t::text, t.tenant_id FROM tenant_roles t",
    "api_keys": "SELECT t::text, t.tenant_id FROM api_keys t",
    "webhook_endpoints": "SELECT t::text, t.tenant_id FROM webhook_endpoints t",
    "matter_members": "SELECT t::text, m.tenant_id FROM matter_members t "
    "JOIN matters m ON m.id = t.matter_id",
    "document_texts": "SELECT t::text, d.tenant_id FROM document_texts t "
    "JOIN documents d ON d.id = t.document_id",
    "analysis_runs": "SELECT t::text, d.tenant_id FROM analysis_runs t "
    "JOIN documents d ON d.id = t.document_id",
    "analysis_windows": "SELECT t::text, d.tenant_id FROM analysis_windows t "
    "JOIN analysis_runs r ON r.id = t.run_id JOIN documents d ON d.id = r.document_id",
    "findings": "SELECT t::text, d.tenant_id FROM findings t "
    "JOIN analysis_runs r ON r.id = t.run_id JOIN documents d ON d.id = r.document_id",
    "finding_reviews": "SELECT t::text, d.tenant_id FROM finding_reviews t "
    "JOIN findings f ON f.id = t.finding_id JOIN analysis_runs r ON r.id = f.run_id "
    "JOIN documents d ON d.id = r.document_id",
    "guard_verdicts": "SELECT t::text, d.tenant_id FROM guard_verdicts t "
    "JOIN findings f ON f.id = t.finding_id JOIN analysis_runs r ON r.id = f.run_id "
    "JOIN documents d ON d.id = r.document_id",
    "api_key_matters": "SELECT t::text, k.tenant_id FROM api_key_matters t "
    "JOIN api_keys k ON k.id = t.api_key_id",
    "idempotency_keys": "SELECT t::text, k.tenant_id FROM idempotency_keys t "
    "JOIN api_keys k ON k.id = t.api_key_id",
    "webhook_deliveries": "SELECT t::text, e.tenant_id FROM webhook_deliveries t "
    "JOIN webhook_endpoints e ON e.id = t.endpoint_id",
}
# Outside the policies, on purpose: the list of firms, and the audit trail (one global chain,
# verified whole; its exports filter by tenant). Django's and Alembic's own tables.
SHARED = {"tenants", "audit_events", "alembic_version"}


@dataclass(frozen=True)
class Firm:
    tenant_id: int
    run_id: int
    delivery_id: int
    key_prefix: str


def populate(url: str, tmp_path: Path, name: str) -> Firm:
    rt = runtime(url, tmp_path / name, FixedGuard("safe"))
    matter_id = create_matter(rt, ALICE, f"{name} acquisition", tenant=name)
    data = THREE_PAGE_CONTRACT.read_bytes()
    submitted = submit_document(rt, ALICE, matter_id, "contract.pdf", data)
    assert run_to_end(rt, submitted.run_id) == "done"
    key = apikeys.create_key(rt, ALICE, name, matter_ids=(matter_id,))
    roles.grant_role(rt, ALICE, 1, "alice", "compliance", tenant=name)
    with transaction(rt.engine) as conn:
        finding_id = conn.execute(
            select(findings.c.id)
            .where(findings.c.run_id == submitted.run_id, findings.c.kind == "clause")
            .limit(1)
        ).scalar_one()
        tenant_id = conn.execute(text("SELECT id FROM tenants WHERE name = :n"), {"n": name})
        tenant = int(tenant_id.scalar_one())
        delivery_id = _webhook(conn, tenant)
        conn.execute(
            insert(idempotency_keys).values(
                api_key_id=key.id,
                key=f"{name}-upload-1",
                request_sha256="0" * 64,
                document_id=submitted.document_id,
                run_id=submitted.run_id,
                created_at=text("now()"),
            )
        )
    review_finding(rt, ALICE, finding_id, Decision("confirmed"))
    rt.engine.dispose()
    return Firm(tenant, submitted.run_id, delivery_id, key.prefix)


def _webhook(conn: object, tenant_id: int) -> int:
    endpoint = conn.execute(  # type: ignore[attr-defined]
        insert(webhook_endpoints)
        .values(
            tenant_id=tenant_id,
            url="https://dms.example/hook",
            secret="s" * 40,
            events=["run.completed"],
            created_by="test",
            created_at=text("now()"),
        )
        .returning(webhook_endpoints.c.id)
    ).scalar_one()
    values = dict(event="run.completed", event_id="e" * 32, payload={}, created_at=text("now()"))
    delivery = insert(webhook_deliveries).values(endpoint_id=endpoint, **values)
    return int(conn.execute(delivery.returning(webhook_deliveries.c.id)).scalar_one())  # type: ignore[attr-defined]


@pytest.fixture
def firms(fresh_pg_url: str, tmp_path: Path) -> tuple[Firm, Firm]:
    return populate(fresh_pg_url, tmp_path, "firm-a"), populate(fresh_pg_url, tmp_path, "firm-b")


@pytest.fixture
def app_engine(fresh_pg_url: str) -> Iterator[Engine]:
    """The database as the application reaches it: an ordinary login in docanalysis_app."""
    with login_role(fresh_pg_url, "docanalysis_rls", APP_LOGIN) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def rows_by_tenant(url: str) -> dict[str, dict[int, set[str]]]:
    """As the administrator (a superuser: the policies do not apply): each table's rows, as
    text, by tenant."""
    admin = make_engine(url)
    found: dict[str, dict[int, set[str]]] = {}
    with reading(admin) as conn:
        for table, query in TENANT_OF_ROW.items():
            found[table] = {}
            for row_text, tenant in conn.execute(text(query)):
                found[table].setdefault(int(tenant), set()).add(row_text)
    admin.dispose()
    return found


def visible(engine: Engine, table: str) -> set[str]:
    with reading(engine) as conn:
        return {r[0] for r in conn.execute(text(f"SELECT t::text FROM {table} t"))}


def test_each_tenant_sees_exactly_its_own_rows_in_every_table(
    fresh_pg_url: str, firms: tuple[Firm, Firm], app_engine: Engine
) -> None:
    expected = rows_by_tenant(fresh_pg_url)
    for firm, other in (firms, firms[::-1]):
        with tenant_scope({firm.tenant_id}):
            for table in TENANT_OF_ROW:
                # Both firms have rows in every table, so an empty answer would fail too.
                assert expected[table].keys() == {firm.tenant_id, other.tenant_id}, table
                assert visible(app_engine, table) == expected[table][firm.tenant_id], table
    with tenant_scope({firms[0].tenant_id, firms[1].tenant_id}):
        both = {t: visible(app_engine, t) for t in TENANT_OF_ROW}
    assert both == {
        t: by[firms[0].tenant_id] | by[firms[1].tenant_id] for t, by in expected.items()
    }


def test_without_a_tenant_in_scope_nothing_is_visible(
    firms: tuple[Firm, Firm], app_engine: Engine
) -> None:
    with tenant_scope(()):
        assert {t: visible(app_engine, t) for t in TENANT_OF_ROW} == {
            t: set() for t in TENANT_OF_ROW
        }
    with reading(app_engine) as conn:  # the shared tables stay readable
        assert conn.execute(text("SELECT count(*) FROM tenants")).scalar_one() == 2


def test_every_tenant_is_the_scope_of_scheduled_jobs(
    fresh_pg_url: str, firms: tuple[Firm, Firm], app_engine: Engine
) -> None:
    expected = rows_by_tenant(fresh_pg_url)
    with tenant_scope(EVERY):
        assert visible(app_engine, "documents") == set().union(*expected["documents"].values())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE documents SET original_name = 'x' WHERE tenant_id = {other}",
        "DELETE FROM matter_members WHERE matter_id IN "
        "(SELECT id FROM matters WHERE tenant_id = {other})",
    ],
)
def test_another_tenants_rows_cannot_be_changed(
    fresh_pg_url: str, firms: tuple[Firm, Firm], app_engine: Engine, statement: str
) -> None:
    before = rows_by_tenant(fresh_pg_url)
    with tenant_scope({firms[0].tenant_id}), transaction(app_engine) as conn:
        changed = conn.execute(text(statement.format(other=firms[1].tenant_id))).rowcount
    assert changed == 0
    assert rows_by_tenant(fresh_pg_url) == before


def test_rows_cannot_be_written_into_another_tenant(
    firms: tuple[Firm, Firm], app_engine: Engine
) -> None:
    mine, other = firms
    insert_matter = "INSERT INTO matters (tenant_id, name, created_at) VALUES (:t, 'x', now())"
    refused = pytest.raises(DBAPIError, match="row-level security")
    with refused, tenant_scope({mine.tenant_id}), transaction(app_engine) as conn:
        conn.execute(text(insert_matter), {"t": other.tenant_id})
    move = "UPDATE documents SET tenant_id = :other WHERE tenant_id = :mine"
    refused = pytest.raises(DBAPIError, match="row-level security")
    with refused, tenant_scope({mine.tenant_id}), transaction(app_engine) as conn:
        conn.execute(text(move), {"other": other.tenant_id, "mine": mine.tenant_id})


def test_the_lookups_return_a_tenant_id_and_nothing_else(
    firms: tuple[Firm, Firm], app_engine: Engine
) -> None:
    for firm in firms:
        assert tenant_of(app_engine, "run", firm.run_id) == firm.tenant_id
        assert tenant_of(app_engine, "delivery", firm.delivery_id) == firm.tenant_id
        assert tenant_of(app_engine, "api_key", firm.key_prefix) == firm.tenant_id
    assert tenant_of(app_engine, "run", 10**9) is None
    with pytest.raises(DBAPIError, match="permission denied"), transaction(app_engine) as conn:
        conn.execute(text("SET ROLE docanalysis_lookup"))


def test_every_table_is_either_under_a_policy_or_shared_on_purpose(fresh_pg_url: str) -> None:
    """A new table that holds a tenant's data must get a policy (migration 0015's pattern)."""
    admin = make_engine(fresh_pg_url)
    query = (
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
    )
    with reading(admin) as conn:
        tables = {
            r.relname: (r.relrowsecurity, r.relforcerowsecurity) for r in conn.execute(text(query))
        }
    admin.dispose()
    assert {t for t, flags in tables.items() if flags == (True, True)} == set(TENANT_OF_ROW)
    assert set(tables) - set(TENANT_OF_ROW) == SHARED


ROLE_FACTS = """
SELECT r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb,
       (SELECT count(*) FROM pg_class c WHERE pg_has_role(current_user, c.relowner, 'MEMBER')
          AND c.relnamespace = 'public'::regnamespace) AS owned,
       (SELECT count(*) FROM pg_proc p WHERE pg_has_role(current_user, p.proowner, 'MEMBER')
          AND p.pronamespace = 'public'::regnamespace) AS functions,
       pg_has_role(current_user, 'docanalysis_lookup', 'MEMBER') AS lookup,
       (SELECT count(*) FROM pg_roles s WHERE (s.rolsuper OR s.rolbypassrls)
          AND pg_has_role(current_user, s.oid, 'MEMBER')) AS privileged
FROM pg_roles r WHERE r.rolname = current_user
"""


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE documents DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE documents NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_scope ON documents",
        "CREATE POLICY everything ON documents USING (true)",
        "ALTER FUNCTION docanalysis_tenant_of_run(bigint) SECURITY INVOKER",
    ],
)
def test_the_application_role_has_no_way_around_the_policies(
    app_engine: Engine, statement: str
) -> None:
    with reading(app_engine) as conn:
        facts = conn.execute(text(ROLE_FACTS)).one()
    assert tuple(facts) == (False, False, False, False, 0, 0, False, 0)
    with pytest.raises(DBAPIError, match="must be owner"), transaction(app_engine) as conn:
        conn.execute(text(statement))


def test_the_deployment_runs_the_application_as_the_unprivileged_role() -> None:
    """docker-compose's web and worker log in as docanalysis_runtime, which
    deploy/postgres-init.sh creates as APP_LOGIN does here: no superuser, no bypass."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    url = compose["x-app-env"]["DATABASE_URL"]
    assert make_url(url.replace("${", "").replace("}", "")).username == "docanalysis_runtime"
    script = (REPO / "deploy" / "postgres-init.sh").read_text()
    created = [line for line in script.splitlines() if "CREATE ROLE docanalysis_runtime" in line]
    assert created == [
        "CREATE ROLE docanalysis_runtime LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD :'pw' "
        "IN ROLE docanalysis_app;"
    ]
