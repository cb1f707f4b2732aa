"""Sending webhook deliveries (the outbox that services.webhooks fills): one attempt at a
time, each leased to one worker, signed, sent to the address the SSRF rules checked, and
retried with a growing delay until MAX_ATTEMPTS."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from docanalysis.core.errors import DocAnalysisError
from docanalysis.core.ssrf import check_url
from docanalysis.core.webhook_signing import sign
from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import webhook_deliveries, webhook_endpoints
from docanalysis.services.fetch import pinned
from docanalysis.services.runtime import Runtime

MAX_ATTEMPTS = 8
DELIVERY_TIMEOUT_S = 10
# A claimed delivery is not due again for this long: a second worker (the sweep re-sends what
# is due) does not send it twice meanwhile, and a worker killed mid-send is retried after it.
LEASE_S = 120


def retry_delay_s(attempts: int) -> int:
    """Seconds until the next attempt after `attempts` failed ones: 20 s, doubling, at most
    an hour."""
    return min(3600, 10 * 2**attempts)


def due_deliveries(rt: Runtime, at: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries whose next attempt is due by `at` (now), the longest waiting first."""
    query = (
        select(webhook_deliveries.c.id)
        .where(
            webhook_deliveries.c.state == "pending",
            webhook_deliveries.c.next_attempt_at <= (at or repo.now()),
        )
        .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
        .limit(limit)
    )
    with reading(rt.engine) as conn:
        return [int(i) for i in conn.execute(query).scalars()]


def deliver_due(rt: Runtime, at: datetime | None = None) -> int:
    """Attempt every due delivery in this process (the CLI, tests); the number attempted."""
    return sum(deliver(rt, delivery_id, at) is not None for delivery_id in due_deliveries(rt, at))


def deliver(rt: Runtime, delivery_id: int, at: datetime | None = None) -> str | None:
    """One attempt at a pending, due delivery; its state after it. None (and nothing sent)
    when it is not pending, not due, or another worker holds it."""
    at = at or repo.now()
    claimed = _claim(rt, delivery_id, at)
    if claimed is None:
        return None
    delivery, endpoint = claimed
    if endpoint.disabled_at is not None:  # deleted after the claim's read: never sent again
        return _record_attempt(rt, delivery, None, "the endpoint was deleted", at, final=True)
    status, error = _send(rt, endpoint, delivery)
    return _record_attempt(rt, delivery, status, error, at)


def _claim(rt: Runtime, delivery_id: int, at: datetime) -> tuple[repo.Record, repo.Record] | None:
    """The delivery and its endpoint, leased to this worker: one conditional UPDATE, so of
    two workers at most one wins, on either database."""
    with transaction(rt.engine) as conn:
        claimed = conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.id == delivery_id,
                webhook_deliveries.c.state == "pending",
                webhook_deliveries.c.next_attempt_at <= at,
            )
            .values(next_attempt_at=at + timedelta(seconds=LEASE_S))
        )
        if claimed.rowcount != 1:
            return None
        delivery = conn.execute(
            select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
        ).one()
        endpoint = conn.execute(
            select(webhook_endpoints).where(webhook_endpoints.c.id == delivery.endpoint_id)
        ).one()
    return delivery, endpoint


def body_of(event: str, event_id: str, payload: dict[str, Any]) -> bytes:
    """The bytes POSTed: the same at every attempt."""
    envelope = {"event": event, "event_id": event_id, "data": payload}
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _send(rt: Runtime, endpoint: repo.Record, delivery: repo.Record) -> tuple[int | None, str]:
    """(the HTTP status, "" or why it failed); no status when no answer came."""
    body = body_of(delivery.event, delivery.event_id, delivery.payload)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "docanalysis-webhooks/1",
        "X-Docanalysis-Event": delivery.event,
        "X-Docanalysis-Delivery": delivery.event_id,
        "X-Docanalysis-Timestamp": str(timestamp),
        "X-Docanalysis-Signature": sign(endpoint.secret, timestamp, body),
    }
    try:
        target = check_url(endpoint.url, allow_private=rt.settings.allow_private_urls)
        with pinned(target, "POST", DELIVERY_TIMEOUT_S, headers, body) as response:
            status = response.status_code
    except DocAnalysisError as exc:  # refused by the SSRF rules now, or unresolvable
        return None, exc.reason
    except httpx.HTTPError as exc:
        return None, (str(exc) or type(exc).__name__)[:1000]
    return status, "" if 200 <= status < 300 else f"the endpoint answered HTTP {status}"


def _record_attempt(
    rt: Runtime,
    delivery: repo.Record,
    status: int | None,
    error: str,
    at: datetime,
    final: bool = False,
) -> str:
    attempts = int(delivery.attempts) + 1
    values: dict[str, Any] = {"attempts": attempts, "last_status_code": status, "last_error": error}
    if not error:
        values.update(state="delivered", delivered_at=repo.now(), next_attempt_at=None)
    elif final or attempts >= MAX_ATTEMPTS:
        values.update(state="failed", next_attempt_at=None)
    else:
        values.update(next_attempt_at=at + timedelta(seconds=retry_delay_s(attempts)))
    with transaction(rt.engine) as conn:
        conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.id == int(delivery.id),
                webhook_deliveries.c.state == "pending",  # an endpoint deleted meanwhile wins
            )
            .values(**values)
        )
    return str(values.get("state", "pending"))
