"""What the browser tests share: the views' runtime on a fresh SQLite data dir (a module-scoped
fixture: import `web` into a test module), users, signed-in clients, matters, uploads, and the
audit events since a point. Loaded once (not a test module), so user names stay unique."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from docanalysis.config import load_settings
from docanalysis.db.migrate import upgrade_database
from docanalysis.services import queries
from docanalysis.services.runtime import Runtime, build_runtime


class RecordingQueue:
    def __init__(self) -> None:
        self.run_ids: list[int] = []

    def enqueue_run(self, run_id: int) -> None:
        self.run_ids.append(run_id)


@pytest.fixture(scope="module")
def web(django_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The views' runtime on a fresh data dir (domain tables by Alembic); its queue records
    runs."""
    data_dir = tmp_path_factory.mktemp("web-data")
    env = {
        "DOCANALYSIS_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'docanalysis.sqlite3'}",
    }
    rt = build_runtime(load_settings(env), queue=RecordingQueue())
    upgrade_database(env["DATABASE_URL"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("docanalysis.web.views.common.get_runtime", lambda: rt)
        yield rt
    rt.engine.dispose()


_counter = iter(range(1, 10_000))


def _user(name: str) -> Any:
    from django.contrib.auth.models import User

    username = f"{name}{next(_counter)}"
    return User.objects.create_user(username, f"{username}@firm.example", "pw-Long-enough-1")


def _client(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _matter(client: Any, name: str) -> int:
    response = client.post("/matters/new/", {"name": name})
    assert response.status_code == 302
    return int(response["Location"].strip("/").split("/")[-1])


def _upload(client: Any, matter_id: int, name: str, data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, data, content_type="application/pdf")
    return client.post(f"/matters/{matter_id}/documents/", {"files": [upload]})


def _single_document(rt: Runtime, user: Any, matter_id: int) -> Any:
    (doc,) = queries.documents_in_matter(rt, user.pk, matter_id)
    return doc


def _events_since(rt: Runtime, seq: int) -> list[Any]:
    from docanalysis.db.audit import read_events
    from docanalysis.db.engine import reading

    with reading(rt.engine) as conn:
        return read_events(conn, after_seq=seq)


def _head(rt: Runtime) -> int:
    events = _events_since(rt, 0)
    return events[-1].seq if events else 0


def blob_files(rt: Runtime) -> list[Path]:
    """Every stored file, sorted."""
    return sorted(p for p in rt.settings.blob_dir.rglob("*") if p.is_file())


def assert_nowhere(rt: Runtime, secret: str, logged: str) -> None:
    """Not in any audit event, any row of any domain table, any stored file, or the log."""
    for event in _events_since(rt, 0):
        assert secret not in json.dumps(dataclasses.asdict(event), default=str)
    metadata = MetaData()
    metadata.reflect(rt.engine)
    with rt.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                assert secret not in repr(tuple(row)), table.name
    for path in blob_files(rt):
        assert secret.encode() not in path.read_bytes()
    assert secret not in logged
