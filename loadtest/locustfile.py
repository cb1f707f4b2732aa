"""Locust scenario: document-management systems that upload contracts and poll their analysis.

Each simulated user is one integration with its own API key (one key per user: the per-key rate
limit, 600/min by default, is then a real limit and not a shared one). It uploads a document
(`POST /api/v1/documents`, multipart `file` + `matter`, with an `Idempotency-Key` and external
ids like a DMS), polls `GET /api/v1/runs/{id}` once a second until the run is final, reads the
results once, and starts again. Every upload has different bytes: a small CUAD PDF with a unique
comment after `%%EOF` (readers ignore it), or every fourth time the start of a CUAD contract
text as a `.txt` with a unique last line.

Read from the environment (loadtest/run.py sets them):
    LOADTEST_KEYS_FILE   one API key per line (user i takes line i, round robin)
    LOADTEST_REPORT      where to write the JSON report at the end (status counts, response
                         times of the answered requests, accepted documents)
    LOADTEST_DATA        the cuad/ folder (default ../shared/data/cuad beside the repository)
    LOADTEST_MATTERS     how many matters the uploads are spread over (default 5)
    LOADTEST_POLL_S      seconds between two polls of a run (default 1)

    locust -f loadtest/locustfile.py --headless -u 20 -r 5 -t 5m --host http://127.0.0.1:8000
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LOADTEST_DATA") or REPO.parent / "shared" / "data" / "cuad")
MATTERS = int(os.environ.get("LOADTEST_MATTERS") or 5)
POLL_S = float(os.environ.get("LOADTEST_POLL_S") or 1.0)
POLL_LIMIT_S = 600.0  # a run not final after this long is left to the runner's drain check
UPLOAD = "/api/v1/documents"
TEXT_CHARS = 6000
SMALLEST_PDFS = 8


def _smallest(folder: Path, pattern: str, count: int) -> list[Path]:
    files = sorted(folder.glob(pattern), key=lambda p: (p.stat().st_size, p.name))
    return files[:count]


def _texts(count: int) -> list[tuple[str, str]]:
    """(name, first TEXT_CHARS characters) of `count` CUAD contract texts, by name."""
    files = sorted((DATA / "contracts_txt").glob("*.txt"))[:count]
    return [(p.name, p.read_text(encoding="utf-8")[:TEXT_CHARS]) for p in files]


PDFS = [(p.name, p.read_bytes()) for p in _smallest(DATA / "pdfs", "*", SMALLEST_PDFS)]
TEXTS = _texts(4)
KEYS = [
    line.strip()
    for line in Path(os.environ.get("LOADTEST_KEYS_FILE") or os.devnull).read_text().splitlines()
    if line.strip()
]


class Tally:
    """What the runner checks afterwards, gathered from every request of every user."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: Counter[str] = Counter()  # "POST /api/v1/documents 202" -> count
        self.times_ms: dict[str, list[float]] = {}  # "GET /api/v1/runs/[id]" -> 2xx times
        self.accepted: dict[int, int] = {}  # document id -> run id
        self.final: dict[int, str] = {}  # run id -> final state seen by the poller
        self.errors: Counter[str] = Counter()  # requests without an answer (connection errors)

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {
                "status": dict(self.status),
                "times_ms": self.times_ms,
                "accepted": {str(k): v for k, v in self.accepted.items()},
                "final": {str(k): v for k, v in self.final.items()},
                "errors": dict(self.errors),
            }


TALLY = Tally()
_users = itertools.count()


@events.request.add_listener
def _count(
    request_type: str,
    name: str,
    response_time: float,
    response: Any,
    exception: BaseException | None,
    **kwargs: Any,
) -> None:
    code = getattr(response, "status_code", 0) or 0
    key = f"{request_type} {name}"
    with TALLY.lock:
        TALLY.status[f"{key} {code}"] += 1
        if 200 <= code < 300:
            TALLY.times_ms.setdefault(key, []).append(response_time)
        if code == 0:
            TALLY.errors[f"{key}: {type(exception).__name__}"] += 1


@events.quitting.add_listener
def _write_report(environment: Any, **kwargs: Any) -> None:
    target = os.environ.get("LOADTEST_REPORT")
    if target:
        Path(target).write_text(json.dumps(TALLY.report()))


class Integration(HttpUser):
    """One DMS integration: upload, poll until final, read the results, again."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        if not KEYS:
            raise RuntimeError("no API keys: set LOADTEST_KEYS_FILE (loadtest/run.py does)")
        self.number = next(_users)
        self.client.headers["Authorization"] = f"Bearer {KEYS[self.number % len(KEYS)]}"
        self.sent = 0

    @task
    def upload_and_follow(self) -> None:
        accepted = self._upload()
        if accepted is None:
            return
        document_id, run_id = accepted
        state = self._poll(run_id)
        if state is not None:
            with TALLY.lock:
                TALLY.final[run_id] = state
            self.client.get(
                f"/api/v1/documents/{document_id}/results", name="/api/v1/documents/[id]/results"
            )

    def _document(self) -> tuple[str, bytes, str]:
        """A file no one has sent before: (name, bytes, media type)."""
        self.sent += 1
        unique = f"loadtest user {self.number} upload {self.sent} {uuid.uuid4()}"
        if self.sent % 4 == 0:
            name, text = TEXTS[(self.number + self.sent) % len(TEXTS)]
            return name, f"{text}\n\n{unique}\n".encode(), "text/plain"
        name, pdf = PDFS[(self.number + self.sent) % len(PDFS)]
        return name, pdf + f"\n% {unique}\n".encode(), "application/pdf"

    def _upload(self) -> tuple[int, int] | None:
        name, data, media_type = self._document()
        form = {
            "matter": f"LOAD-{self.number % MATTERS}",
            "external_system": "loadtest",
            "external_id": f"user-{self.number}-doc-{self.sent}",
            "external_version": "1",
        }
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        with self.client.post(
            "/api/v1/documents",
            data=form,
            files={"file": (name, data, media_type)},
            headers=headers,
            name=UPLOAD,
            catch_response=True,
        ) as response:
            if response.status_code != 202:
                response.failure(f"upload answered {response.status_code}: {response.text[:200]}")
                return None
            body = response.json()
            with TALLY.lock:
                TALLY.accepted[int(body["id"])] = int(body["run_id"])
            return int(body["id"]), int(body["run_id"])

    def _poll(self, run_id: int) -> str | None:
        """The run's final state, or None if the test ends (or the limit passes) first."""
        deadline = time.monotonic() + POLL_LIMIT_S
        while time.monotonic() < deadline:
            response = self.client.get(f"/api/v1/runs/{run_id}", name="/api/v1/runs/[id]")
            if response.status_code == 200 and response.json().get("final"):
                return str(response.json()["state"])
            time.sleep(POLL_S)  # gevent-patched: yields to the other users
        return None
