"""initial: the domain and audit schema, and the append-only guard on audit_events

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# docanalysis.db.tables.Id: a bigint identity on PostgreSQL, INTEGER PRIMARY KEY on SQLite.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

APPEND_ONLY = "audit_events is append-only"

PG_GUARD = [
    f"""
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'insufficient_privilege';
    END;
    $$
    """,
    """
    CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """,
    """
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
    """,
]
PG_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_no_update_delete ON audit_events",
    "DROP FUNCTION IF EXISTS audit_events_append_only()",
]
SQLITE_GUARD = [
    f"""
    CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END
    """
    for verb in ("UPDATE", "DELETE")
]
SQLITE_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
    "DROP TRIGGER IF EXISTS audit_events_no_update",
]


def _create_tenancy() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "matters",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_matters_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matters")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_matters_tenant_name"),
    )
    op.create_index(op.f("ix_matters_tenant_id"), "matters", ["tenant_id"], unique=False)
    op.create_table(
        "matter_members",
        sa.Column("matter_id", ID, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matters.id"], name=op.f("fk_matter_members_matter_id_matters")
        ),
        sa.PrimaryKeyConstraint("matter_id", "user_id", name=op.f("pk_matter_members")),
    )
    op.create_index(op.f("ix_matter_members_user_id"), "matter_members", ["user_id"], unique=False)


def _create_documents() -> None:
    op.create_table(
        "documents",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("matter_id", ID, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=500), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("chars", sa.Integer(), nullable=True),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matters.id"], name=op.f("fk_documents_matter_id_matters")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_documents_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(op.f("ix_documents_matter_id"), "documents", ["matter_id"], unique=False)
    op.create_index(op.f("ix_documents_sha256"), "documents", ["sha256"], unique=False)
    op.create_index(op.f("ix_documents_tenant_id"), "documents", ["tenant_id"], unique=False)
    op.create_table(
        "document_texts",
        sa.Column("document_id", ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("pages", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_texts_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_texts")),
    )


def _create_runs() -> None:
    op.create_table(
        "analysis_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("document_id", ID, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_code", sa.String(length=50), nullable=False),
        sa.Column("stage_done", sa.Integer(), nullable=False),
        sa.Column("stage_total", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=300), nullable=False),
        sa.Column("model_revision", sa.String(length=100), nullable=False),
        sa.Column("dropped_refs", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_analysis_runs_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_runs")),
    )
    op.create_index(
        op.f("ix_analysis_runs_document_id"), "analysis_runs", ["document_id"], unique=False
    )
    op.create_index(op.f("ix_analysis_runs_state"), "analysis_runs", ["state"], unique=False)
    op.create_table(
        "analysis_windows",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("first_provision", sa.Integer(), nullable=False),
        sa.Column("last_provision", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("input_sha256", sa.String(length=64), nullable=False),
        sa.Column("output_raw", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("clauses", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["analysis_runs.id"], name=op.f("fk_analysis_windows_run_id_analysis_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_windows")),
        sa.UniqueConstraint("run_id", "index", name="uq_analysis_windows_run_index"),
    )


def _create_findings() -> None:
    op.create_table(
        "findings",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("start", sa.Integer(), nullable=True),
        sa.Column("end", sa.Integer(), nullable=True),
        sa.Column("provision", sa.Integer(), nullable=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["analysis_runs.id"], name=op.f("fk_findings_run_id_analysis_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint("run_id", "ordinal", name="uq_findings_run_ordinal"),
    )
    op.create_index(op.f("ix_findings_run_id"), "findings", ["run_id"], unique=False)
    op.create_table(
        "guard_verdicts",
        sa.Column("id", ID, nullable=False),
        sa.Column("finding_id", ID, nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(length=300), nullable=False),
        sa.Column("policy_version", sa.String(length=100), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["findings.id"], name=op.f("fk_guard_verdicts_finding_id_findings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_verdicts")),
        sa.UniqueConstraint("finding_id", name=op.f("uq_guard_verdicts_finding_id")),
    )


def _create_audit_events() -> None:
    op.create_table(
        "audit_events",
        # seq is assigned by the audit writer under a lock, never by a sequence: no gaps.
        sa.Column("seq", ID, autoincrement=False, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("tenant_id", ID, nullable=True),
        sa.Column("matter_id", ID, nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    op.create_index("ix_audit_events_subject", "audit_events", ["subject"], unique=False)
    guard = PG_GUARD if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARD
    for statement in guard:
        op.execute(statement)


def upgrade() -> None:
    _create_tenancy()
    _create_documents()
    _create_runs()
    _create_findings()
    _create_audit_events()


def downgrade() -> None:
    unguard = PG_UNGUARD if op.get_bind().dialect.name == "postgresql" else SQLITE_UNGUARD
    for statement in unguard:
        op.execute(statement)
    op.drop_index("ix_audit_events_subject", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("guard_verdicts")
    op.drop_index(op.f("ix_findings_run_id"), table_name="findings")
    op.drop_table("findings")
    op.drop_table("analysis_windows")
    op.drop_index(op.f("ix_analysis_runs_state"), table_name="analysis_runs")
    op.drop_index(op.f("ix_analysis_runs_document_id"), table_name="analysis_runs")
    op.drop_table("analysis_runs")
    op.drop_table("document_texts")
    op.drop_index(op.f("ix_documents_tenant_id"), table_name="documents")
    op.drop_index(op.f("ix_documents_sha256"), table_name="documents")
    op.drop_index(op.f("ix_documents_matter_id"), table_name="documents")
    op.drop_table("documents")
    op.drop_index(op.f("ix_matter_members_user_id"), table_name="matter_members")
    op.drop_table("matter_members")
    op.drop_index(op.f("ix_matters_tenant_id"), table_name="matters")
    op.drop_table("matters")
    op.drop_table("tenants")
