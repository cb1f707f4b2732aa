"""The domain and audit schema. Alembic (migrations/) owns every table here; Django owns only its
contrib tables (auth, sessions), which this metadata never names. Users are referred to by id,
and audit rows copy the actor's identity so they stay true if a user is renamed or removed."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Named constraints keep migrations reproducible on SQLite and PostgreSQL alike.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
Id = BigInteger().with_variant(Integer(), "sqlite")
MAX_ID = 2**63 - 1  # the largest bigint: a larger id names nothing


def _created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False)


tenants = Table(
    "tenants",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    # Days a document is kept after upload before its content is purged; NULL keeps it.
    Column("retention_days", Integer, nullable=True),
    _created_at(),
)

matters = Table(
    "matters",
    metadata,
    Column("id", Id, primary_key=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("retention_days", Integer, nullable=True),  # overrides the tenant's when set
    # The document-management system's own reference for the matter (REST clients name it).
    Column("external_ref", String(200), nullable=True),
    # Under legal hold nothing in the matter may be deleted or purged (NULL: no hold).
    Column("legal_hold_since", DateTime(timezone=True), nullable=True),
    Column("legal_hold_by", String(300), nullable=False, default=""),
    Column("legal_hold_reason", Text, nullable=False, default=""),
    _created_at(),
    UniqueConstraint("tenant_id", "name", name="uq_matters_tenant_name"),
    Index("uq_matters_tenant_external_ref", "tenant_id", "external_ref", unique=True),
)

# Who may see a matter, and do what in it: a viewer reads; an editor also uploads, deletes and
# reviews; an admin also manages the members. user_id is Django's auth_user.id (no foreign key
# across owners).
MATTER_ROLES = ("viewer", "editor", "admin")

matter_members = Table(
    "matter_members",
    metadata,
    Column("matter_id", Id, ForeignKey("matters.id"), primary_key=True),
    Column("user_id", Integer, primary_key=True, index=True),
    Column("role", String(20), nullable=False, default="editor"),
    _created_at(),
)

# Who holds a tenant-wide role: "compliance" (reads and exports the audit trail, sets legal
# holds) or "tenant-admin" (that, and administers the tenant). user_id is Django's auth_user.id.
# Kept here, not in Django's groups, so that a grant and its audit event share one transaction
# and a role never spans tenants.
TENANT_ROLES = ("compliance", "tenant-admin")

tenant_roles = Table(
    "tenant_roles",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("user_id", Integer, primary_key=True, index=True),
    Column("role", String(20), primary_key=True),
    _created_at(),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Id, primary_key=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False, index=True),
    Column("matter_id", Id, ForeignKey("matters.id"), nullable=False, index=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("original_name", String(500), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False, default="application/pdf"),
    Column("pages", Integer, nullable=True),  # known once extracted
    Column("chars", Integer, nullable=True),
    Column("uploaded_by", Integer, nullable=True),  # Django user id; NULL for the CLI
    # Set when the content (file, text, results) was purged: the row stays as a tombstone the
    # audit trail and the guard's verdicts still refer to. Reason: "deleted" or "retention".
    Column("purged_at", DateTime(timezone=True), nullable=True),
    Column("purge_reason", String(20), nullable=False, default=""),
    # Where a REST client keeps the document (system, id, version): the same triple is the
    # same document, however often the request is retried. NULL for browser and CLI uploads.
    Column("external_system", String(100), nullable=True),
    Column("external_id", String(500), nullable=True),
    Column("external_version", String(100), nullable=True),
    # Where the file was in the archive it came in ("Data room/Leases/lease-1.pdf"), for a
    # document of a bulk upload (services/bulk.py); NULL for a file uploaded alone.
    Column("source_path", String(1000), nullable=True),
    _created_at(),
    Index(
        "uq_documents_external",
        "tenant_id",
        "external_system",
        "external_id",
        "external_version",
        unique=True,
    ),
)

# The extracted text, stored once per document so later stages never re-read the PDF.
document_texts = Table(
    "document_texts",
    metadata,
    Column("document_id", Id, ForeignKey("documents.id"), primary_key=True),
    Column("text", Text, nullable=False),
    Column("pages", JSON, nullable=False),  # [{"number", "start", "end"}, ...]
    Column("warnings", JSON, nullable=False),
    _created_at(),
)

RUN_STATES = (
    "queued",
    "extracting",
    "windowing",
    "analyzing",
    "guarding",
    "done",
    "failed",
    "held",
)
FINAL_STATES = ("done", "failed", "held")

analysis_runs = Table(
    "analysis_runs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("document_id", Id, ForeignKey("documents.id"), nullable=False, index=True),
    Column("state", String(20), nullable=False, index=True),
    Column("reason", Text, nullable=False, default=""),  # why failed or held, for a lawyer
    Column("reason_code", String(50), nullable=False, default=""),
    Column("stage_done", Integer, nullable=False, default=0),  # progress within the stage
    Column("stage_total", Integer, nullable=False, default=0),
    # Deliveries of the run's current step that started and did not end (their worker died);
    # reset when a step ends. DOCANALYSIS_MAX_ATTEMPTS of them fail the run as "poison".
    Column("attempts", Integer, nullable=False, default=0),
    Column("model_id", String(300), nullable=False, default=""),
    Column("model_revision", String(100), nullable=False, default=""),
    Column("dropped_refs", Integer, nullable=False, default=0),  # ungrounded model citations
    Column("warnings", JSON, nullable=False),
    # {"document_tokens", "prompt_tokens", "completion_tokens", "calls", "seconds": {stage: s}}
    Column("usage", JSON, nullable=True),
    # {"proposed", "verified", "dropped": [{"window", "category", "provision", "value", "why"}]}
    Column("grounding", JSON, nullable=True),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

analysis_windows = Table(
    "analysis_windows",
    metadata,
    Column("id", Id, primary_key=True),
    Column("run_id", Id, ForeignKey("analysis_runs.id"), nullable=False),
    Column("index", Integer, nullable=False),
    Column("first_provision", Integer, nullable=False),
    Column("last_provision", Integer, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
    Column("tokens", Integer, nullable=False),
    Column("input_sha256", String(64), nullable=False),
    Column("output_raw", Text, nullable=True),  # NULL until analyzed; kept for audit
    Column("summary", Text, nullable=True),  # the summary sentences' text, joined
    Column("sentences", JSON, nullable=True),  # [{"text", "provisions": [n, ...]}, ...]
    Column("clauses", JSON, nullable=True),  # [{"category", "provisions": [n, ...], "value"}]
    Column("prompt_tokens", Integer, nullable=True),
    Column("completion_tokens", Integer, nullable=True),
    Column("seconds", Float, nullable=True),
    UniqueConstraint("run_id", "index", name="uq_analysis_windows_run_index"),
)

FINDING_KINDS = ("summary", "clause")

findings = Table(
    "findings",
    metadata,
    Column("id", Id, primary_key=True),
    Column("run_id", Id, ForeignKey("analysis_runs.id"), nullable=False, index=True),
    Column("ordinal", Integer, nullable=False),  # stable order within the run
    Column("kind", String(20), nullable=False),
    Column("category", String(100), nullable=False, default=""),
    Column("text", Text, nullable=False),
    Column("page", Integer, nullable=True),
    Column("start", Integer, nullable=True),
    Column("end", Integer, nullable=True),
    Column("provision", Integer, nullable=True),
    Column("value", Text, nullable=False, default=""),
    Column("windows", JSON, nullable=True),  # indexes of the windows that proposed a clause
    Column("support", Integer, nullable=True),  # windows that proposed the kept value
    # A summary's sentences with the provisions each cites: [{"text", "provisions": [...]}]
    Column("citations", JSON, nullable=True),
    # A clause's confidence, its basis (agreed, unconfirmed, candidate, model_only: see
    # core/fusion.py) and the reason shown with it.
    Column("confidence", Float, nullable=True),
    Column("basis", String(20), nullable=True),
    Column("basis_reason", Text, nullable=True),
    # pending (not yet judged), released (guard said safe), flagged (unsafe under a category
    # the policy releases with a flag), held (blocked, or the guard could not judge)
    Column("status", String(20), nullable=False, default="pending"),
    # A held finding a reviewer released after reading it: who, when, why. The guard's verdict
    # stays as it was; the finding's status becomes "released".
    Column("released_by", String(300), nullable=False, default=""),
    Column("released_at", DateTime(timezone=True), nullable=True),
    Column("release_reason", Text, nullable=False, default=""),
    UniqueConstraint("run_id", "ordinal", name="uq_findings_run_ordinal"),
)

# A reviewer's decisions on a clause, kept beside the model's finding (which never changes):
# confirmed, rejected, or corrected (category, value, or span: the text is the source's own
# words at [start, end), quoted by the system). Every decision is a row; the latest counts.
REVIEW_DECISIONS = ("confirmed", "rejected", "corrected")

finding_reviews = Table(
    "finding_reviews",
    metadata,
    Column("id", Id, primary_key=True),
    Column("finding_id", Id, ForeignKey("findings.id"), nullable=False, index=True),
    Column("decision", String(20), nullable=False),
    Column("category", String(100), nullable=False),
    Column("value", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("page", Integer, nullable=True),
    Column("start", Integer, nullable=True),
    Column("end", Integer, nullable=True),
    Column("note", Text, nullable=False),
    Column("reviewer", String(300), nullable=False),
    Column("reviewer_id", Integer, nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
)

# REST API keys: shown once at creation, stored as sha256 only. `prefix` ("dak_" + 8 characters)
# is the key's public part, in every listing and audit event, so a leaked key is recognizable.
# A key is scoped to its tenant, or to the matters listed in api_key_matters.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False, index=True),
    Column("prefix", String(20), nullable=False, unique=True),
    Column("key_sha256", String(64), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("created_by", String(300), nullable=False),
    _created_at(),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_by", String(300), nullable=False, default=""),
)

api_key_matters = Table(
    "api_key_matters",
    metadata,
    Column("api_key_id", Id, ForeignKey("api_keys.id"), primary_key=True),
    Column("matter_id", Id, ForeignKey("matters.id"), primary_key=True),
)

# A create request's Idempotency-Key, per API key: a retry gets the first answer back.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("api_key_id", Id, ForeignKey("api_keys.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_sha256", String(64), nullable=False),  # the same key with another request
    Column("document_id", Id, ForeignKey("documents.id"), nullable=False),
    Column("run_id", Id, nullable=False),
    _created_at(),
)

guard_verdicts = Table(
    "guard_verdicts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("finding_id", Id, ForeignKey("findings.id"), nullable=False, unique=True),
    Column("verdict", String(20), nullable=False),  # safe | unsafe | held
    Column("categories", JSON, nullable=False),
    Column("model", String(300), nullable=False),
    Column("policy_version", String(100), nullable=False),
    # The exact policy (sha256 of its canonical JSON) and what it decided: release, flag, block.
    # Rows are written once; the migration's triggers refuse UPDATE and DELETE.
    Column("policy_sha256", String(64), nullable=False, default=""),
    Column("outcome", String(10), nullable=False, default=""),
    Column("score", Float, nullable=True),
    Column("reason", Text, nullable=False, default=""),
    _created_at(),
)

# Append-only and hash-chained: hash = sha256(prev_hash || canonical_json(row)). Triggers added
# by the migration refuse UPDATE and DELETE on both PostgreSQL and SQLite.
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor_id", Integer, nullable=True),
    Column("actor", String(300), nullable=False),  # identity copy: "alice <a@firm>", "cli", ...
    Column("tenant_id", Id, nullable=True),
    Column("matter_id", Id, nullable=True),
    Column("action", String(100), nullable=False),
    Column("subject", String(200), nullable=False),  # e.g. "document:12", "run:7"
    Column("details", JSON, nullable=False),
    # ok | refused | failed ("" on rows written before the column existed)
    Column("outcome", String(20), nullable=False, default=""),
    Column("request_id", String(100), nullable=False, default=""),
    Column("client_address", String(64), nullable=False, default=""),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Index("ix_audit_events_subject", "subject"),
)

# Webhooks: a tenant's endpoints and an outbox of deliveries. A delivery row is written in the
# transaction of the change it announces (a run ending, a document deleted), so an announced
# change is never lost and an unannounced one never sent; the workers send what is due.
WEBHOOK_EVENTS = ("analysis.completed", "analysis.failed", "analysis.held", "document.deleted")
DELIVERY_STATES = ("pending", "delivered", "failed")

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Id, primary_key=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    # Kept as is, not hashed: each delivery is signed with it (HMAC-SHA256). Shown once.
    Column("secret", String(100), nullable=False),
    Column("events", JSON, nullable=False),  # a list of WEBHOOK_EVENTS
    Column("created_by", String(300), nullable=False),
    _created_at(),
    Column("disabled_at", DateTime(timezone=True), nullable=True),  # deleted: no more deliveries
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("endpoint_id", Id, ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    Column("event", String(50), nullable=False),
    # The event's id (uuid4 hex), the same for every attempt and replay: receivers dedupe on it.
    Column("event_id", String(32), nullable=False, index=True),
    Column("payload", JSON, nullable=False),  # ids, states, reason codes: never document text
    Column("state", String(20), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),  # NULL once final
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    _created_at(),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
)

__all__ = [
    "DELIVERY_STATES",
    "FINAL_STATES",
    "MATTER_ROLES",
    "MAX_ID",
    "FINDING_KINDS",
    "RUN_STATES",
    "TENANT_ROLES",
    "WEBHOOK_EVENTS",
    "analysis_runs",
    "analysis_windows",
    "api_key_matters",
    "api_keys",
    "audit_events",
    "document_texts",
    "documents",
    "findings",
    "guard_verdicts",
    "idempotency_keys",
    "matter_members",
    "matters",
    "metadata",
    "tenant_roles",
    "tenants",
    "webhook_deliveries",
    "webhook_endpoints",
]
