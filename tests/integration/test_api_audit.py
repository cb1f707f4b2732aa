"""GET /api/v1/audit/export: a verifiable export of the key's tenant, matter or document, and
nothing outside the key's scope."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from docanalysis.services import apikeys
from docanalysis.services.audit_export_verify import verify_export
from docanalysis.services.matters import create_matter
from docanalysis.services.runtime import Runtime
from tests.integration.test_api import ADMIN, _client, _error, _upload
from tests.integration.test_pipeline import ALICE


@pytest.fixture
def rt(views_rt: Runtime) -> Runtime:
    return views_rt


def _save(response: object, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(response.content)  # type: ignore[attr-defined]
    return path


def test_a_tenant_key_exports_a_trail_that_verifies(rt: Runtime, tmp_path: Path) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    client = _client(key)
    sent = _upload(client, "EXPORT-1").json()
    response = client.get("/api/v1/audit/export")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    export = _save(response, tmp_path, "trail.zip")
    check = verify_export(export)
    assert check.ok, check.problem
    with zipfile.ZipFile(export) as archive:
        events = [json.loads(line) for line in archive.read("events.jsonl").splitlines()]
    actions = [e["action"] for e in events]
    assert {"api_key.created", "matter.created", "document.uploaded"} <= set(actions)
    document_only = client.get(f"/api/v1/audit/export?document={sent['id']}")
    with zipfile.ZipFile(_save(document_only, tmp_path, "doc.zip")) as archive:
        subjects = {
            json.loads(line)["subject"] for line in archive.read("events.jsonl").splitlines()
        }
    assert subjects == {f"document:{sent['id']}"}
    # The export is audited, under the key's name.
    last = client.get("/api/v1/audit/export")
    with zipfile.ZipFile(_save(last, tmp_path, "last.zip")) as archive:
        lines = archive.read("events.jsonl").splitlines()
    exported = [json.loads(line) for line in lines if b'"audit.exported"' in line]
    assert exported and exported[-1]["actor"] == f"api-key:{key[:12]}"


def test_a_matter_key_exports_only_its_matters(rt: Runtime, tmp_path: Path) -> None:
    mine = create_matter(rt, ALICE, "Mine", tenant="acme")
    theirs = create_matter(rt, ALICE, "Theirs", tenant="acme")
    key = apikeys.create_key(rt, ADMIN, "acme", matter_ids=(mine,)).secret
    client = _client(key)
    assert _error(client.get("/api/v1/audit/export")) == (400, "invalid")
    assert _error(client.get(f"/api/v1/audit/export?matter={theirs}")) == (404, "not_found")
    other = apikeys.create_key(rt, ADMIN, "globex").secret
    assert _error(_client(other).get(f"/api/v1/audit/export?matter={mine}")) == (404, "not_found")
    ok = client.get(f"/api/v1/audit/export?matter={mine}")
    assert ok.status_code == 200
    assert verify_export(_save(ok, tmp_path, "mine.zip")).ok
