"""The audit chain verified by several processes at once (PostgreSQL), for long chains.

Why it may be split: every row stores its own prev_hash and hash, so a range of rows can be
checked on its own, starting from the stored hash of the row before it; the ranges overlap by
that one link, so together they check every link of the chain. One Python process hashes about
170,000 rows per second of CPU; a chain of millions of events is read by all the cores.

Only a chain that checks out is vouched for here. At the first range that does not (or
anything unexpected), the answer is left to db.audit.verify_chain_stats, which walks the chain
in one process and names what is wrong: the verdicts are the same, only the time differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

from docanalysis.core.audit_chain import ChainCheck
from docanalysis.db.audit import VerifyStats, verify_chain_stats
from docanalysis.db.audit_range import RangeCheck, stored_hash

# Below this many rows per process, starting the processes costs more than it saves.
MIN_ROWS_PER_PROCESS = 100_000


def verify_chain_fast(
    engine: Engine,
    tenant_id: int | None = None,
    *,
    expected_head: tuple[int, str] | None = None,
    processes: int = 1,
) -> VerifyStats:
    """verify_chain_stats' verdict, read by `processes` processes where the chain is long
    enough to be worth it (PostgreSQL only)."""
    started = time.perf_counter()
    if engine.dialect.name == "postgresql" and processes > 1:
        with engine.connect() as conn:
            last_seq = conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_events"))
            last = int(last_seq.scalar_one())
        ranges = split(last, processes)
        head_known = expected_head is None or expected_head[0] <= last
        if len(ranges) > 1 and head_known:
            url = engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
            check = _verify_ranges(url, ranges, tenant_id, expected_head)
            if check is not None:
                return VerifyStats(check, last, len(ranges), time.perf_counter() - started)
    with engine.connect() as conn:
        return verify_chain_stats(conn, tenant_id, expected_head=expected_head)


def split(last: int, processes: int) -> list[tuple[int, int]]:
    """Rows 1..last cut into at most `processes` ranges of about equal size, none smaller
    than MIN_ROWS_PER_PROCESS (one range: not worth splitting)."""
    if last < 1:
        return []
    parts = max(1, min(processes, last // MIN_ROWS_PER_PROCESS))
    size = -(-last // parts)
    return [(first, min(last, first + size - 1)) for first in range(1, last + 1, size)]


def _verify_ranges(
    url: str,
    ranges: list[tuple[int, int]],
    tenant_id: int | None,
    expected_head: tuple[int, str] | None,
) -> ChainCheck | None:
    """The verdict when every range checks out (and the signed head is the stored row);
    None where any does not, for the one-process walk to name."""
    children: list[subprocess.Popen[bytes]] = []
    try:
        children += [_start(url, bounds, tenant_id) for bounds in ranges]
        checks = [_answer(child) for child in children]
    finally:
        for child in children:  # none left running when one could not be started or read
            if child.poll() is None:
                child.kill()
                child.wait()
    if not all(check is not None and check.ok for check in checks):
        return None
    if expected_head is not None and stored_hash(url, expected_head[0]) != expected_head[1]:
        return None
    done = [check for check in checks if check is not None]
    return ChainCheck(ok=True, count=sum(c.count for c in done), last_hash=done[-1].last_hash)


def _start(url: str, bounds: tuple[int, int], tenant_id: int | None) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(
        [sys.executable, "-m", "docanalysis.db.audit_range"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": _package_path()},
    )
    asked = {"url": url, "first": bounds[0], "last": bounds[1], "tenant": tenant_id}
    assert child.stdin is not None
    child.stdin.write(json.dumps(asked).encode())
    child.stdin.close()
    return child


def _answer(child: subprocess.Popen[bytes]) -> RangeCheck | None:
    """The child's verdict; None where it did not give one (it failed: the slow walk decides)."""
    assert child.stdout is not None
    with child.stdout:
        out = child.stdout.read()
    child.wait()
    try:
        return RangeCheck(**json.loads(out)) if child.returncode == 0 else None
    except (ValueError, TypeError):
        return None


def _package_path() -> str:
    """PYTHONPATH with this package's root first, so a source checkout works uninstalled."""
    root = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)


__all__ = ["MIN_ROWS_PER_PROCESS", "split", "verify_chain_fast"]
