"""Webhooks end to end on each dialect: endpoints registered through the API, runs driven to
their end, deliveries sent to a real receiver on 127.0.0.1 (private addresses allowed for
these tests), signed, retried, replayed, and kept within their tenant."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from docanalysis.core.webhook_signing import verify
from docanalysis.db import repositories as repo
from docanalysis.db.audit import read_events
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import webhook_deliveries
from docanalysis.services import apikeys, retention, webhooks
from docanalysis.services.matters import create_matter
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from tests.conftest import ONE_PAGE_CONTRACT, PDFS, REPO
from tests.integration.test_api import ADMIN, _client, _error, _upload
from tests.integration.test_pipeline import ALICE
from tests.support.fakes import FixedGuard
from tests.support.http_server import Answer, LocalServer, Seen, local_server

ALL_EVENTS = ["analysis.completed", "analysis.failed", "analysis.held", "document.deleted"]
TRIPLE = {"external_system": "imanage", "external_id": "DOC-42", "external_version": "3"}


@pytest.fixture
def rt(views_rt: Runtime) -> Runtime:
    views_rt.settings = dataclasses.replace(views_rt.settings, allow_private_urls=True)
    return views_rt


@pytest.fixture
def receiver() -> Iterator[LocalServer]:
    with local_server() as running:
        running.answers["/hook"] = Answer(204)
        running.answers["/fail"] = Answer(500, b"boom")
        yield running


def _register(key: str, url: str, events: list[str] = ALL_EVENTS) -> dict[str, Any]:
    response = _client(key).post(
        "/api/v1/webhooks", json.dumps({"url": url, "events": events}), "application/json"
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def _analyzed(rt: Runtime, key: str, pdf: Path = ONE_PAGE_CONTRACT, **fields: Any) -> Any:
    sent = _upload(_client(key), "M-HOOK", pdf.read_bytes(), **fields).json()
    run_to_end(rt, sent["run_id"])
    return sent


def _deliveries(key: str, endpoint_id: int) -> list[dict[str, Any]]:
    response = _client(key).get(f"/api/v1/webhooks/{endpoint_id}/deliveries")
    assert response.status_code == 200
    return list(response.json()["results"])


def _headers(seen: Seen) -> dict[str, str]:
    names = ("Event", "Delivery", "Timestamp", "Signature")
    return {f"X-Docanalysis-{n}": seen.headers[f"x-docanalysis-{n.lower()}"] for n in names}


def _documented_verify() -> Callable[..., bool]:
    """The verify function of docs/api_webhooks.md, run as written there."""
    text = (REPO / "docs" / "api_webhooks.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", text, flags=re.S)
    assert snippet is not None
    scope: dict[str, Any] = {}
    exec(compile(snippet[1], "api_webhooks.md", "exec"), scope)
    verify_signature: Callable[..., bool] = scope["verify_signature"]
    return verify_signature


def test_a_completed_analysis_is_delivered_signed_once(rt: Runtime, receiver: LocalServer) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    created = _register(key, receiver.url("/hook"), ["analysis.completed"])
    secret = created.pop("secret")
    assert len(secret) == 43  # 32 random bytes, urlsafe base64
    listed = _client(key).get("/api/v1/webhooks").json()["results"]
    assert listed == [created] and "secret" not in listed[0]
    sent = _analyzed(rt, key, ONE_PAGE_CONTRACT, **TRIPLE)

    assert webhooks.deliver_due(rt) == 1
    assert webhooks.deliver_due(rt) == 0  # delivered: nothing is due any more
    [seen] = receiver.received("/hook")
    headers = _headers(seen)
    body = json.loads(seen.body)
    assert (seen.method, seen.headers["content-type"]) == ("POST", "application/json")
    assert headers["X-Docanalysis-Event"] == body["event"] == "analysis.completed"
    assert headers["X-Docanalysis-Delivery"] == body["event_id"]
    data = body["data"]
    matter_id = _client(key).get(f"/api/v1/documents/{sent['id']}").json()["matter_id"]
    assert {k: v for k, v in data.items() if k != "occurred_at"} == {
        "document_id": sent["id"],
        "run_id": sent["run_id"],
        "state": "done",
        "reason_code": "",
        "matter_id": matter_id,
        **TRIPLE,
    }
    timestamp, signature = headers["X-Docanalysis-Timestamp"], headers["X-Docanalysis-Signature"]
    now = time.time()
    assert abs(now - int(timestamp)) < 60
    assert verify(secret, signature, timestamp, seen.body, now=now)
    assert not verify(secret, signature, timestamp, seen.body.replace(b"done", b"held"), now=now)
    assert not verify(secret, signature, timestamp, seen.body, now=int(timestamp) + 301)
    documented = _documented_verify()
    assert documented(secret, headers, seen.body)
    assert not documented(secret, headers, seen.body + b" ")
    assert not documented(secret, headers, seen.body, now=int(timestamp) + 301)

    [delivery] = _deliveries(key, created["id"])
    assert (delivery["state"], delivery["attempts"], delivery["last_status_code"]) == (
        "delivered",
        1,
        204,
    )
    assert delivery["event_id"] == body["event_id"] and delivery["next_attempt_at"] is None
    assert webhooks.deliver(rt, delivery["id"]) is None  # a duplicate task sends nothing


def test_a_failing_receiver_is_retried_later_then_fails_and_a_replay_is_new(
    rt: Runtime, receiver: LocalServer
) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    endpoint = _register(key, receiver.url("/fail"), ["analysis.completed"])
    _analyzed(rt, key)
    before = repo.now()
    assert webhooks.deliver_due(rt) == 1
    [first] = _deliveries(key, endpoint["id"])
    assert (first["state"], first["attempts"], first["last_status_code"]) == ("pending", 1, 500)
    assert first["last_error"] == "the endpoint answered HTTP 500"
    retry_at = _when(first["next_attempt_at"])
    assert before + timedelta(seconds=19) < retry_at <= repo.now() + timedelta(seconds=20)
    assert webhooks.deliver(rt, first["id"]) is None  # not due yet: nothing sent
    assert len(receiver.received("/fail")) == 1

    at = retry_at
    for attempt in range(2, webhooks.MAX_ATTEMPTS + 1):
        state = webhooks.deliver(rt, first["id"], at=at)
        assert state == ("failed" if attempt == webhooks.MAX_ATTEMPTS else "pending")
        at += timedelta(seconds=webhooks.retry_delay_s(attempt))
    [failed] = _deliveries(key, endpoint["id"])
    assert (failed["state"], failed["attempts"], failed["next_attempt_at"]) == ("failed", 8, None)
    assert webhooks.deliver(rt, first["id"], at=at + timedelta(days=1)) is None

    receiver.answers["/fail"] = Answer(200)
    replayed = _client(key).post(f"/api/v1/webhooks/deliveries/{first['id']}/replay")
    assert replayed.status_code == 202
    again = replayed.json()
    assert replayed["Location"] == f"/api/v1/webhooks/{endpoint['id']}/deliveries"
    assert (again["state"], again["attempts"], again["event_id"]) == (
        "pending",
        0,
        first["event_id"],
    )
    assert again["id"] != first["id"]
    assert webhooks.deliver_due(rt) == 1
    seen = receiver.received("/fail")
    assert len(seen) == webhooks.MAX_ATTEMPTS + 1
    assert {s.headers["x-docanalysis-delivery"] for s in seen} == {first["event_id"]}
    assert len({s.body for s in seen}) == 1  # every attempt sends the same bytes
    states = [d["state"] for d in _deliveries(key, endpoint["id"])]
    assert states == ["delivered", "failed"]  # newest first
    with reading(rt.engine) as conn:
        actions = [e.action for e in read_events(conn)]
    assert actions.count("webhook.created") == 1 and actions.count("webhook.replayed") == 1


def _when(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_failed_and_held_runs_and_deleted_documents_are_announced(
    rt: Runtime, receiver: LocalServer
) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    _register(key, receiver.url("/hook"))
    rt.settings = dataclasses.replace(rt.settings, ocr=False)  # so a scan fails: no text
    scan = _analyzed(rt, key, PDFS / "scanned" / "c02-22_public_domain_scan.pdf")
    rt.guard = FixedGuard("unsafe")
    held = _analyzed(rt, key, ONE_PAGE_CONTRACT, **TRIPLE)
    assert _client(key).delete(f"/api/v1/documents/{held['id']}").status_code == 204
    assert webhooks.deliver_due(rt) == 3

    received = [json.loads(s.body) for s in receiver.received("/hook")]
    by_event = {b["event"]: b["data"] for b in received}
    assert set(by_event) == {"analysis.failed", "analysis.held", "document.deleted"}
    failed = by_event["analysis.failed"]
    assert (failed["document_id"], failed["state"], failed["reason_code"]) == (
        scan["id"],
        "failed",
        "no_text",
    )
    assert (by_event["analysis.held"]["state"], by_event["analysis.held"]["reason_code"]) == (
        "held",
        "guard_held",
    )
    deleted = by_event["document.deleted"]
    assert {k: v for k, v in deleted.items() if k not in ("occurred_at", "matter_id")} == {
        "document_id": held["id"],
        "reason": "deleted",
        **TRIPLE,  # the client's own ids, though the purge cleared them from the row
    }
    # No document text in any payload: ids, states and codes only.
    assert all(set(b["data"]) <= PAYLOAD_KEYS for b in received)


PAYLOAD_KEYS = {
    "document_id",
    "run_id",
    "state",
    "reason_code",
    "reason",
    "external_system",
    "external_id",
    "external_version",
    "matter_id",
    "occurred_at",
}


def test_endpoints_hear_only_their_tenant_and_only_tenant_wide_keys_see_them(
    rt: Runtime, receiver: LocalServer
) -> None:
    acme = apikeys.create_key(rt, ADMIN, "acme").secret
    globex = apikeys.create_key(rt, ADMIN, "globex").secret
    receiver.answers["/globex"] = Answer(200)
    mine = _register(acme, receiver.url("/hook"))
    theirs = _register(globex, receiver.url("/globex"))
    _analyzed(rt, acme)
    assert webhooks.deliver_due(rt) == 1
    assert len(receiver.received("/hook")) == 1 and receiver.received("/globex") == []

    assert [e["id"] for e in _client(globex).get("/api/v1/webhooks").json()["results"]] == [
        theirs["id"]
    ]
    [delivery] = _deliveries(acme, mine["id"])
    other = _client(globex)
    assert _error(other.get(f"/api/v1/webhooks/{mine['id']}/deliveries")) == (404, "not_found")
    assert _error(other.delete(f"/api/v1/webhooks/{mine['id']}")) == (404, "not_found")
    replay = other.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay")
    assert _error(replay) == (404, "not_found")

    matter_id = create_matter(rt, ALICE, "Scoped", tenant="acme")
    scoped = _client(apikeys.create_key(rt, ADMIN, "acme", matter_ids=(matter_id,)).secret)
    body = json.dumps({"url": receiver.url("/hook"), "events": ALL_EVENTS})
    for response in (
        scoped.get("/api/v1/webhooks"),
        scoped.post("/api/v1/webhooks", body, "application/json"),
        scoped.delete(f"/api/v1/webhooks/{mine['id']}"),
        scoped.get(f"/api/v1/webhooks/{mine['id']}/deliveries"),
        scoped.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay"),
    ):
        assert _error(response) == (404, "not_found")
    assert _count_deliveries(rt) == 1


def _count_deliveries(rt: Runtime) -> int:
    with reading(rt.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(webhook_deliveries)).scalar_one())


def test_refused_urls_and_events_and_a_deleted_endpoint(rt: Runtime, receiver: LocalServer) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    client = _client(key)

    def register(url: str, events: list[str]) -> Any:
        body = json.dumps({"url": url, "events": events})
        return client.post("/api/v1/webhooks", body, "application/json")

    assert _error(register(receiver.url("/hook"), ["analysis.exploded"])) == (400, "invalid")
    assert _error(register(receiver.url("/hook"), [])) == (400, "invalid")
    endpoint = _register(key, receiver.url("/hook"))
    rt.settings = dataclasses.replace(rt.settings, allow_private_urls=False)
    refused = register(receiver.url("/hook"), ALL_EVENTS)
    assert _error(refused) == (400, "url_refused")
    assert "a loopback address" in refused.json()["error"]["message"]
    assert _error(register("ftp://example.com/hook", ALL_EVENTS)) == (400, "url_refused")

    # Registered while private addresses were allowed: refused at delivery now, not sent.
    _analyzed(rt, key)
    assert webhooks.deliver_due(rt) == 1
    [pending] = _deliveries(key, endpoint["id"])
    assert (pending["state"], pending["attempts"], pending["last_status_code"]) == (
        "pending",
        1,
        None,
    )
    assert "a loopback address" in pending["last_error"]
    assert receiver.seen == []

    assert client.delete(f"/api/v1/webhooks/{endpoint['id']}").status_code == 204
    assert client.get("/api/v1/webhooks").json()["results"] == []
    assert _error(client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries")) == (
        404,
        "not_found",
    )
    with reading(rt.engine) as conn:
        row = conn.execute(select(webhook_deliveries)).one()
    assert (row.state, row.last_error) == ("failed", "the endpoint was deleted")
    assert webhooks.due_deliveries(rt, at=repo.now() + timedelta(days=1)) == []


def test_an_announcement_rolls_back_with_its_change(rt: Runtime, receiver: LocalServer) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    _register(key, receiver.url("/hook"))
    principal = apikeys.authenticate(rt, key)
    assert principal is not None
    with pytest.raises(RuntimeError), transaction(rt.engine) as conn:
        written = webhooks.announce(
            conn, principal.tenant_id, None, "document.deleted", {"document_id": 1}
        )
        assert written == 1
        raise RuntimeError("the change failed")
    assert _count_deliveries(rt) == 0
    with transaction(rt.engine) as conn:
        webhooks.announce(conn, principal.tenant_id, None, "document.deleted", {"document_id": 1})
    assert _count_deliveries(rt) == 1


def test_retention_purges_are_announced_as_deleted_with_their_reason(
    rt: Runtime, receiver: LocalServer
) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    _register(key, receiver.url("/hook"), ["document.deleted"])
    sent = _analyzed(rt, key)
    retention.set_retention(rt, ADMIN, 1, tenant="acme")
    report = retention.purge_expired(rt, at=repo.now() + timedelta(days=2))
    assert report.purged == [sent["id"]]
    assert webhooks.deliver_due(rt) == 1
    [seen] = receiver.received("/hook")
    data = json.loads(seen.body)["data"]
    assert (data["document_id"], data["reason"]) == (sent["id"], "retention")


def test_the_workers_sweep_sends_a_task_per_due_delivery_and_the_task_delivers(
    rt: Runtime, receiver: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers import tasks

    key = apikeys.create_key(rt, ADMIN, "acme").secret
    _register(key, receiver.url("/hook"), ["analysis.completed"])
    _analyzed(rt, key)
    sent: list[tuple[str, list[int], str]] = []
    monkeypatch.setattr(tasks, "get_runtime", lambda: rt)
    monkeypatch.setattr(
        tasks.app, "send_task", lambda name, args, queue: sent.append((name, args, queue))
    )
    assert tasks.webhook_sweep_task() == 1
    [(name, [delivery_id], queue)] = sent
    assert (name, queue) == (tasks.WEBHOOK_DELIVER, "cpu")
    assert tasks.webhook_deliver_task(delivery_id) == "delivered"
    assert tasks.webhook_deliver_task(delivery_id) == "not due"  # a redelivered message
    assert len(receiver.received("/hook")) == 1
