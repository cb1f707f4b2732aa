"""Webhooks: a tenant's endpoints, told when an analysis ends and when a document is deleted.

Deliveries are an outbox. `announce` writes one pending row per subscribed endpoint in the
transaction of the change it announces, so a change and its announcement commit together or
not at all. The workers send what is due (services.webhook_delivery: `due_deliveries`,
`deliver`, re-exported here): the database, not the queue, says what remains to be sent, so a
lost message only delays a delivery.

A delivery is a signed POST (core.webhook_signing) to the checked address (core.ssrf: the
URL is checked at registration and again at each attempt, since its name may resolve
elsewhere by then). A 2xx answer delivers it; anything else is retried with a growing delay,
and after MAX_ATTEMPTS it fails. Sending is at least once: a receiver dedupes on the event id,
which stays the same across attempts and replays. Payloads carry ids, states, reason codes and
the client's external ids, never document text.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, insert, select, update

from docanalysis.core.ssrf import check_url
from docanalysis.db import repositories as repo
from docanalysis.db.audit import utc
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import MAX_ID, WEBHOOK_EVENTS, webhook_deliveries, webhook_endpoints
from docanalysis.services.apikeys import ApiPrincipal
from docanalysis.services.audit import record
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor
from docanalysis.services.webhook_delivery import (
    MAX_ATTEMPTS,
    body_of,
    deliver,
    deliver_due,
    due_deliveries,
    retry_delay_s,
)

__all__ = [
    "MAX_ATTEMPTS",
    "DeliveryView",
    "EndpointView",
    "announce",
    "announce_deleted",
    "announce_run",
    "body_of",
    "delete_endpoint",
    "deliver",
    "deliver_due",
    "deliveries_of",
    "due_deliveries",
    "list_endpoints",
    "register",
    "replay",
    "retry_delay_s",
]

MAX_ENDPOINTS = 20  # per tenant
EVENT_FOR_STATE = {
    "done": "analysis.completed",
    "held": "analysis.held",
    "failed": "analysis.failed",
}


@dataclass(frozen=True)
class EndpointView:
    id: int
    url: str
    events: tuple[str, ...]
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class DeliveryView:
    id: int
    endpoint_id: int
    event: str
    event_id: str
    state: str  # pending, delivered, failed
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


# --- endpoints ---------------------------------------------------------------------------------


def _tenant_wide(principal: ApiPrincipal) -> None:
    # Webhooks announce the whole tenant's documents: a key scoped to matters sees none.
    if principal.matter_ids is not None:
        raise NotFound("no such webhook endpoint")


def register(
    rt: Runtime, principal: ApiPrincipal, actor: Actor, url: str, events: list[str]
) -> tuple[EndpointView, str]:
    """A new endpoint and its signing secret (shown to the caller this once)."""
    _tenant_wide(principal)
    chosen = _events(events)
    check_url(url, allow_private=rt.settings.allow_private_urls)
    secret = secrets.token_urlsafe(32)
    with transaction(rt.engine) as conn:
        repo.lock_name(conn, f"webhooks:{principal.tenant_id}")
        if len(_endpoints(conn, principal.tenant_id)) >= MAX_ENDPOINTS:
            raise Rejected(f"a tenant has at most {MAX_ENDPOINTS} webhook endpoints")
        values = {
            "tenant_id": principal.tenant_id,
            "url": url,
            "secret": secret,
            "events": list(chosen),
            "created_by": actor.identity,
            "created_at": repo.now(),
        }
        query = insert(webhook_endpoints).values(**values).returning(webhook_endpoints.c.id)
        endpoint_id = int(conn.execute(query).scalar_one())
        details = {"url": _shown(url), "events": list(chosen)}
        _audit(conn, actor, principal, "webhook.created", endpoint_id, **details)
        row = _endpoint(conn, principal, endpoint_id)
    return _endpoint_view(row), secret


def _events(events: list[str]) -> tuple[str, ...]:
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if not events or unknown:
        raise Rejected(
            f"events are one or more of {', '.join(WEBHOOK_EVENTS)}"
            + (f" (not {', '.join(unknown)})" if unknown else ""),
            code="invalid",
        )
    return tuple(e for e in WEBHOOK_EVENTS if e in events)


def _shown(url: str) -> str:
    """The URL for the audit trail: without its query, which may carry a token."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def list_endpoints(rt: Runtime, principal: ApiPrincipal) -> list[EndpointView]:
    _tenant_wide(principal)
    with reading(rt.engine) as conn:
        return [_endpoint_view(row) for row in _endpoints(conn, principal.tenant_id)]


def delete_endpoint(rt: Runtime, principal: ApiPrincipal, actor: Actor, endpoint_id: int) -> None:
    """No more deliveries to the endpoint; those still pending fail. Its log is kept."""
    _tenant_wide(principal)
    with transaction(rt.engine) as conn:
        _endpoint(conn, principal, endpoint_id)
        now = repo.now()
        conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id)
            .values(disabled_at=now)
        )
        conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.endpoint_id == endpoint_id,
                webhook_deliveries.c.state == "pending",
            )
            .values(state="failed", next_attempt_at=None, last_error="the endpoint was deleted")
        )
        _audit(conn, actor, principal, "webhook.deleted", endpoint_id)


def _endpoints(conn: Connection, tenant_id: int) -> list[repo.Record]:
    query = (
        select(webhook_endpoints)
        .where(
            webhook_endpoints.c.tenant_id == tenant_id,
            webhook_endpoints.c.disabled_at.is_(None),
        )
        .order_by(webhook_endpoints.c.id)
    )
    return list(conn.execute(query))


def _endpoint(conn: Connection, principal: ApiPrincipal, endpoint_id: int) -> repo.Record:
    """The tenant's endpoint (not deleted), or NotFound."""
    query = select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
    found = conn.execute(query).first() if 0 < endpoint_id <= MAX_ID else None
    if found is None or int(found.tenant_id) != principal.tenant_id or found.disabled_at:
        raise NotFound("no such webhook endpoint")
    return found


def _endpoint_view(row: repo.Record) -> EndpointView:
    return EndpointView(
        int(row.id), row.url, tuple(row.events), row.created_by, utc(row.created_at)
    )


def _audit(
    conn: Connection,
    actor: Actor,
    principal: ApiPrincipal,
    action: str,
    endpoint_id: int,
    **details: Any,
) -> None:
    subject = f"webhook:{endpoint_id}"
    record(conn, actor, action, subject, tenant_id=principal.tenant_id, matter_id=None, **details)


# --- the outbox --------------------------------------------------------------------------------


def announce(
    conn: Connection, tenant_id: int, matter_id: int | None, event: str, payload: dict[str, Any]
) -> int:
    """One pending delivery per endpoint of the tenant subscribed to `event`, in the caller's
    transaction; the number written."""
    assert event in WEBHOOK_EVENTS, event
    subscribed = [int(e.id) for e in _endpoints(conn, tenant_id) if event in e.events]
    if not subscribed:
        return 0
    now = repo.now()
    data = {**payload, "matter_id": matter_id, "occurred_at": now.isoformat()}
    event_id = uuid.uuid4().hex  # one event, the same id at every endpoint
    rows = [_pending(endpoint_id, event, event_id, data, now) for endpoint_id in subscribed]
    conn.execute(insert(webhook_deliveries), rows)
    return len(rows)


def announce_run(conn: Connection, run_id: int) -> int:
    """The run's end (done, held or failed), announced in the transaction that ended it."""
    run = repo.run(conn, run_id)
    doc = None if run is None else repo.document(conn, int(run.document_id))
    if run is None or doc is None or run.state not in EVENT_FOR_STATE:
        return 0
    payload = {
        "document_id": int(doc.id),
        "run_id": int(run.id),
        "state": run.state,
        "reason_code": run.reason_code,
        **_external(doc),
    }
    return announce(
        conn, int(doc.tenant_id), int(doc.matter_id), EVENT_FOR_STATE[run.state], payload
    )


def announce_deleted(conn: Connection, doc: repo.Record, reason: str) -> int:
    """A document's content purged: at a person's request ("deleted") or by retention."""
    payload = {"document_id": int(doc.id), "reason": reason, **_external(doc)}
    return announce(conn, int(doc.tenant_id), int(doc.matter_id), "document.deleted", payload)


def _external(doc: repo.Record) -> dict[str, str | None]:
    return {
        "external_system": doc.external_system,
        "external_id": doc.external_id,
        "external_version": doc.external_version,
    }


def _pending(
    endpoint_id: int, event: str, event_id: str, payload: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "endpoint_id": endpoint_id,
        "event": event,
        "event_id": event_id,
        "payload": payload,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }


def replay(rt: Runtime, principal: ApiPrincipal, actor: Actor, delivery_id: int) -> DeliveryView:
    """A new pending delivery of the same event (same event id and payload) to the same
    endpoint, whatever became of the first."""
    _tenant_wide(principal)
    with transaction(rt.engine) as conn:
        first = _delivery(conn, principal, delivery_id)
        row = _pending(
            int(first.endpoint_id), first.event, first.event_id, first.payload, repo.now()
        )
        query = insert(webhook_deliveries).values(**row).returning(webhook_deliveries.c.id)
        new_id = int(conn.execute(query).scalar_one())
        _audit(
            conn,
            actor,
            principal,
            "webhook.replayed",
            int(first.endpoint_id),
            event=first.event,
            event_id=first.event_id,
            delivery=delivery_id,
            replay=new_id,
        )
        return _delivery_view(_delivery(conn, principal, new_id))


def deliveries_of(
    rt: Runtime, principal: ApiPrincipal, endpoint_id: int, limit: int, before: int | None
) -> tuple[list[DeliveryView], int | None]:
    """The endpoint's deliveries, newest first, `limit` at a time; the cursor of the next page
    (the id to pass as `before`), or None."""
    _tenant_wide(principal)
    if not 1 <= limit <= 100:
        raise Rejected("limit is 1 to 100", code="invalid")
    query = select(webhook_deliveries).where(webhook_deliveries.c.endpoint_id == endpoint_id)
    if before is not None:
        query = query.where(webhook_deliveries.c.id < min(before, MAX_ID))
    with reading(rt.engine) as conn:
        _endpoint(conn, principal, endpoint_id)
        rows = list(conn.execute(query.order_by(webhook_deliveries.c.id.desc()).limit(limit + 1)))
    page = [_delivery_view(row) for row in rows[:limit]]
    return page, (page[-1].id if len(rows) > limit else None)


def _delivery(conn: Connection, principal: ApiPrincipal, delivery_id: int) -> repo.Record:
    query = select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
    found = conn.execute(query).first() if 0 < delivery_id <= MAX_ID else None
    if found is None:
        raise NotFound("no such delivery")
    try:
        _endpoint(conn, principal, int(found.endpoint_id))
    except NotFound:
        raise NotFound("no such delivery") from None
    return found


def _delivery_view(row: repo.Record) -> DeliveryView:
    def when(value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)

    return DeliveryView(
        id=int(row.id),
        endpoint_id=int(row.endpoint_id),
        event=row.event,
        event_id=row.event_id,
        state=row.state,
        attempts=int(row.attempts),
        next_attempt_at=when(row.next_attempt_at),
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=utc(row.created_at),
        delivered_at=when(row.delivered_at),
    )
