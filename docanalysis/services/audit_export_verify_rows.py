"""Checking the rows of an audit export: each line of events.jsonl and links.jsonl, and the
one unbroken chain they form together, against the manifest.

Part of services.audit_export_verify, which reads the ZIP and checks everything else.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from docanalysis.core.audit_chain import GENESIS_HASH, OPTIONAL_FIELDS, event_hash
from docanalysis.services.audit_export_format import (
    EVENT_FIELDS,
    EVENTS,
    HEX64,
    LINK_FIELDS,
    LINKS,
    MANIFEST,
    canonical_line,
)

# (line number, line) of each line of an export's file, by file name.
LineReader = Callable[[str], Iterator[tuple[int, str]]]


class ExportProblem(Exception):
    """The first thing wrong with an export, naming the file first: ExportCheck.problem."""


def _columns_problem(name: str, row: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    """What is wrong with a row's columns ("" if nothing): `fields` must all be there, and in
    events.jsonl an optional column only when it holds text."""
    optional = OPTIONAL_FIELDS if name == EVENTS else ()
    extra = sorted(set(row) - set(fields) - set(optional))
    if set(fields) - set(row) or extra:
        return f"has the columns {sorted(row)}, not {sorted(fields)}"
    for column in optional:
        if column in row and (not isinstance(row[column], str) or not row[column]):
            return f"{column} must be non-empty text, or left out"
    return ""


class RowsCheck:
    """Walks events.jsonl and links.jsonl in order of seq. The counts grow as it goes, so that
    the verdict on a bad export still says how far the walk got."""

    def __init__(self, lines: LineReader) -> None:
        self.lines = lines
        self.events = 0
        self.links = 0
        self.first_seq: int | None = None
        self.last_seq: int | None = None

    def _parse(
        self, name: str, fields: tuple[str, ...], scope: Mapping[str, Any]
    ) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """(seq, where, row) of each line of a rows file, its own checks done."""
        previous = 0
        for number, line in self.lines(name):
            where = f"{name} line {number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ExportProblem(f"{where}: not JSON ({exc})") from exc
            seq = row.get("seq") if isinstance(row, dict) else None
            if not isinstance(seq, int) or isinstance(seq, bool):
                raise ExportProblem(f"{where}: not a row with an integer seq")
            where = f"{where} (seq {seq})"
            problem = _columns_problem(name, row, fields)
            if problem:
                raise ExportProblem(f"{where}: {problem}")
            for column in ("prev_hash", "hash"):
                if not isinstance(row[column], str) or not HEX64.fullmatch(row[column]):
                    raise ExportProblem(f"{where}: {column} is not 64 hex digits")
            if seq <= previous:
                raise ExportProblem(f"{where}: not in increasing order of seq")
            previous = seq
            if line != canonical_line(row):
                raise ExportProblem(f"{where}: not written as canonical JSON")
            if name == EVENTS:
                content = {k: v for k, v in row.items() if k != "hash"}
                if event_hash(row["prev_hash"], content) != row["hash"]:
                    raise ExportProblem(f"{where}: hash does not match its content")
                mismatch = _scope_mismatch(scope, row)
                if mismatch:
                    raise ExportProblem(f"{where}: outside the export's scope ({mismatch})")
            yield seq, where, row

    def chain(self, manifest: dict[str, Any]) -> dict[int, tuple[str, str]]:
        """Walk events and links in order of seq; the (hash, where) of the checkpoint's row."""
        chain = manifest["chain"]
        scope = manifest["scope"]
        checkpoint = manifest["checkpoint"]
        want = checkpoint["seq"] if checkpoint else None
        found: dict[int, tuple[str, str]] = {}
        events = self._parse(EVENTS, EVENT_FIELDS, scope)
        links = self._parse(LINKS, LINK_FIELDS, scope)
        merged = heapq.merge(
            ((seq, 0, where, row) for seq, where, row in events),
            ((seq, 1, where, row) for seq, where, row in links),
            key=lambda item: item[:2],
        )
        expected = int(chain["from_seq"]) if chain else 0
        prev_hash = str(chain["from_prev_hash"]) if chain else ""
        by_action: Counter[str] = Counter()
        last_where = LINKS
        for seq, source, where, row in merged:
            if chain is None:
                raise ExportProblem(f"{where}: the manifest says no row was exported")
            if seq < expected:
                raise ExportProblem(f"{where}: seq {seq} appears twice")
            if seq > expected:
                gap = (
                    f"seq {expected} is"
                    if seq == expected + 1
                    else f"seq {expected} to {seq - 1} are"
                )
                raise ExportProblem(f"{where}: {gap} missing before it")
            if seq == 1 and prev_hash != GENESIS_HASH:
                raise ExportProblem(f"{MANIFEST}: seq 1 must follow the genesis hash (64 zeros)")
            if row["prev_hash"] != prev_hash:
                raise ExportProblem(f"{where}: prev_hash does not match the hash of seq {seq - 1}")
            if source == 0:
                self.events += 1
                by_action[row["action"]] += 1
                if self.first_seq is None:
                    self.first_seq = seq
                    if seq != chain["from_seq"]:
                        raise ExportProblem(
                            f"{where}: the covered range starts before the first event"
                        )
                self.last_seq = seq
            else:
                self.links += 1
            if seq == want:
                found[seq] = (row["hash"], where)
            prev_hash = row["hash"]
            expected = seq + 1
            last_where = where
        if chain is not None:
            if expected != chain["to_seq"] + 1:
                raise ExportProblem(
                    f"{last_where}: the chain stops at seq {expected - 1}, the manifest covers "
                    f"seq {chain['from_seq']} to {chain['to_seq']}"
                )
            if prev_hash != chain["to_hash"]:
                raise ExportProblem(f"{last_where}: the last hash differs from the manifest's")
        self._totals(manifest, by_action)
        return found

    def _totals(self, manifest: dict[str, Any], by_action: Counter[str]) -> None:
        """The manifest's counts and first and last selected seq must be what the walk met."""
        counts = manifest["counts"]
        if counts.get("events") != self.events or counts.get("links") != self.links:
            raise ExportProblem(
                f"{MANIFEST}: counts {counts.get('events')} events and {counts.get('links')} "
                f"links, the files hold {self.events} and {self.links}"
            )
        if counts.get("by_action") != dict(by_action):
            raise ExportProblem(f"{MANIFEST}: the counts per action differ from {EVENTS}")
        selection = manifest["selection"]
        first = selection.get("first") or {}
        last = selection.get("last") or {}
        if first.get("seq") != self.first_seq or last.get("seq") != self.last_seq:
            raise ExportProblem(f"{MANIFEST}: the first and last selected seq differ from {EVENTS}")


def _scope_mismatch(scope: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    """Which scope field the exported row contradicts ("" if none). Times are canonical UTC
    text of one fixed width, so comparing the strings compares the instants."""
    for name in ("tenant_id", "matter_id", "subject"):
        if scope.get(name) is not None and row.get(name) != scope[name]:
            return f"{name} {row.get(name)!r}"
    when = str(row.get("occurred_at"))
    if scope.get("since") is not None and when < str(scope["since"]):
        return f"occurred_at {when} before {scope['since']}"
    if scope.get("until") is not None and when >= str(scope["until"]):
        return f"occurred_at {when} not before {scope['until']}"
    return ""


__all__ = ["ExportProblem", "LineReader", "RowsCheck"]
