"""Audit export at scale: export and verify a chain of 100,000 events (two tenants) on SQLite.

    .venv/bin/python bench/audit_export.py [--events 100000] [--tenants 2] [--json FILE]

The chain is written straight into a temporary SQLite file: hashes computed with
core.audit_chain.event_hash in a loop and the rows inserted with one executemany, bypassing
append_event's one-transaction-per-event (the rows are exactly what append_event would write).
It then times a signed checkpoint of the head, the export of tenant 1 (half the events; the
other half become links) and of the whole chain, and verify_export of each ZIP.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from docanalysis.audit_signing import checkpoints_path, load_or_create_key
from docanalysis.core.audit_chain import GENESIS_HASH, event_hash
from docanalysis.db.engine import make_engine, transaction
from docanalysis.db.migrate import upgrade_database
from docanalysis.db.tables import audit_events
from docanalysis.services.audit_export import export_audit, record_checkpoint, verify_export

ACTIONS = ("document.upload", "run.start", "run.finish", "finding.review", "document.view")
T0 = datetime(2026, 1, 5, 8, 0, 0, 0, tzinfo=UTC)


def build_rows(count: int, tenants: int) -> list[dict[str, Any]]:
    """`count` chained rows, tenants 1..`tenants` in turn, as append_event would write them."""
    rows: list[dict[str, Any]] = []
    prev_hash = GENESIS_HASH
    for n in range(count):
        tenant = n % tenants + 1
        content: dict[str, Any] = {
            "seq": n + 1,
            "occurred_at": T0 + timedelta(seconds=n, microseconds=n % 997),
            "actor_id": tenant * 100 + n % 7,
            "actor": f"user{n % 7} <user{n % 7}@tenant{tenant}.example>",
            "tenant_id": tenant,
            "matter_id": tenant * 1000 + n % 13,
            "action": ACTIONS[n % len(ACTIONS)],
            "subject": f"document:{n // 10 + 1}",
            "details": {"name": f"contract-{n}.pdf", "pages": n % 50 + 1, "score": 0.25},
            "prev_hash": prev_hash,
        }
        prev_hash = event_hash(prev_hash, content)
        rows.append({**content, "hash": prev_hash})
    return rows


def timed(label: str, figures: dict[str, float], action: Any) -> Any:
    started = time.perf_counter()
    result = action()
    figures[label] = round(time.perf_counter() - started, 2)
    print(f"{label:<28} {figures[label]:8.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="audit_export_bench_") as work:
        folder = Path(work)
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        upgrade_database(url)
        engine = make_engine(url)
        rows = timed("hash rows", figures, lambda: build_rows(args.events, args.tenants))

        def insert() -> None:
            with transaction(engine) as conn:
                conn.execute(audit_events.insert(), rows)

        timed("insert (executemany)", figures, insert)
        key_path = folder / "keys" / "audit_signing_key.pem"
        key = load_or_create_key(key_path)
        checkpoints = checkpoints_path(key_path)
        timed(
            "checkpoint (verify + sign)",
            figures,
            lambda: record_checkpoint(engine, key, checkpoints),
        )
        for label, tenant in (("tenant 1", 1), ("whole chain", None)):
            out = folder / f"export-{tenant or 'all'}.zip"
            summary = timed(
                f"export {label}",
                figures,
                lambda out=out, tenant=tenant: export_audit(
                    engine,
                    out,
                    key=key,
                    actor="bench",
                    tenant_id=tenant,
                    checkpoint_file=checkpoints,
                ),
            )
            check = timed(f"verify {label}", figures, lambda out=out: verify_export(out))
            if not check.ok:
                raise SystemExit(f"verify_export failed: {check.problem}")
            size = out.stat().st_size / 1e6
            figures[f"zip MB {label}"] = round(size, 1)
            print(
                f"  {summary.events} events, {summary.links} links, zip {size:.1f} MB, "
                f"checkpoint checked: {check.checkpoint_checked}"
            )
        engine.dispose()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
