"""The compliance view's reads of the audit trail: filter, page, one event, and the audit of
reading it (`audit.viewed`). SQLAlchemy Core only; the web tier decides who may call these.

Events are those of one tenant plus the events that belong to no tenant (sign-in, sign-out:
they carry no tenant_id). Filters: a matter, a user (the actor's text, or the actor id when the
value is a number), an action (exact), and a time range (since inclusive, until exclusive, as
in audit_export.ExportScope).

It also lists a tenant's matters with their legal hold and retention, for the legal holds page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, or_, select

from docanalysis.db.audit import AuditEvent, utc
from docanalysis.db.engine import reading
from docanalysis.db.tables import audit_events, matters, tenants
from docanalysis.services.audit import record_alone
from docanalysis.services.matters import matter_view
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor, MatterView

PAGE_SIZE = 100
VIEWED_ACTION = "audit.viewed"


@dataclass(frozen=True)
class EventFilter:
    matter_id: int | None = None
    user: str = ""
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """The filters that were set, for the audit.viewed event's details."""
        found: dict[str, Any] = {
            "matter_id": self.matter_id,
            "user": self.user,
            "action": self.action,
            "since": self.since,
            "until": self.until,
        }
        return {key: value for key, value in found.items() if value not in (None, "")}


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    page: int
    has_next: bool


def tenant_id(rt: Runtime, name: str) -> int | None:
    """The id of the tenant named `name`, None while it does not exist yet."""
    with reading(rt.engine) as conn:
        found = conn.execute(select(tenants.c.id).where(tenants.c.name == name)).scalar()
    return None if found is None else int(found)


def _event(row: Row[Any]) -> AuditEvent:
    values = dict(row._mapping)
    values["occurred_at"] = utc(values["occurred_at"])
    return AuditEvent(**values)


def _visible(tenant: int | None) -> ColumnElement[bool]:
    c = audit_events.c
    if tenant is None:
        return c.tenant_id.is_(None)
    return or_(c.tenant_id == tenant, c.tenant_id.is_(None))


def _conditions(tenant: int | None, flt: EventFilter) -> list[ColumnElement[bool]]:
    c = audit_events.c
    found = [_visible(tenant)]
    if flt.matter_id is not None:
        found.append(c.matter_id == flt.matter_id)
    if flt.user:
        by_user = c.actor.contains(flt.user, autoescape=True)
        if flt.user.isdigit():
            by_user = or_(by_user, c.actor_id == int(flt.user))
        found.append(by_user)
    if flt.action:
        found.append(c.action == flt.action)
    if flt.since is not None:
        found.append(c.occurred_at >= utc(flt.since))
    if flt.until is not None:
        found.append(c.occurred_at < utc(flt.until))
    return found


def list_events(rt: Runtime, tenant: int | None, flt: EventFilter, page: int = 1) -> EventPage:
    """One page (1-based) of the matching events, newest first."""
    page = max(page, 1)
    query = (
        select(audit_events)
        .where(and_(*_conditions(tenant, flt)))
        .order_by(audit_events.c.seq.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    with reading(rt.engine) as conn:
        rows = [_event(row) for row in conn.execute(query)]
    return EventPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


def actions(rt: Runtime, tenant: int | None) -> list[str]:
    """The actions present in the tenant's events, for the filter's choices."""
    query = (
        select(audit_events.c.action)
        .where(_visible(tenant))
        .distinct()
        .order_by(audit_events.c.action)
    )
    with reading(rt.engine) as conn:
        return [str(a) for a in conn.execute(query).scalars()]


def event(rt: Runtime, tenant: int | None, seq: int) -> AuditEvent | None:
    """The event `seq`, None if there is none or it is another tenant's."""
    query = select(audit_events).where(audit_events.c.seq == seq, _visible(tenant))
    with reading(rt.engine) as conn:
        row = conn.execute(query).first()
    return None if row is None else _event(row)


def record_viewed(
    rt: Runtime, actor: Actor, subject: str, tenant: int | None, **details: Any
) -> None:
    """A person read the audit trail (the list with its filters, or one event)."""
    record_alone(rt, actor, VIEWED_ACTION, subject, tenant, **details)


def matters_of_tenant(rt: Runtime, tenant: int | None) -> list[MatterView]:
    """Every matter of the tenant (members or not: officers see them all), by name."""
    if tenant is None:
        return []
    c = matters.c
    query = (
        select(
            c.id,
            c.name,
            tenants.c.name.label("tenant"),
            c.legal_hold_since,
            c.legal_hold_by,
            c.legal_hold_reason,
            c.retention_days,
        )
        .join(tenants, tenants.c.id == c.tenant_id)
        .where(c.tenant_id == tenant)
        .order_by(c.name, c.id)
    )
    with reading(rt.engine) as conn:
        return [matter_view(row) for row in conn.execute(query)]
