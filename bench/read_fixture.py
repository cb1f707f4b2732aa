"""Analysed documents in bulk for the read benchmarks: the rows a finished analysis leaves.

Each document copies the shape of a real one: a CUAD contract of the dev split (its name, pages
and size; its expert clauses as the findings, with their text, offsets and values), one run
done, one window, a summary and a clause finding per labelled category, each with its guard
verdict, a reviewer's decision on every tenth document, and the audit events the pipeline
writes (uploaded, extracted, windowed, window analyzed, analyzed, one verdict per finding,
done), chained as the application chains them. The extracted text is left out: neither the
status nor the results endpoint reads it. Rows go in by COPY, as a superuser with foreign-key
checks off (session_replication_role), then ANALYZE.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from docanalysis.core.audit_chain import GENESIS_HASH, event_hash, format_timestamp

CUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "cuad"
TAXONOMY = Path(__file__).resolve().parents[1] / "docanalysis" / "data" / "cuad_taxonomy.json"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
MODEL, POLICY = "bundled:SmolLM2-135M-Instruct", "2026-11-legal-2"
MAX_CLAUSES = 20


@dataclass(frozen=True)
class Clause:
    category: str
    text: str
    page: int
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Contract:
    name: str
    kind: str
    pages: int
    chars: int
    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class Ids:
    """The first id each table's new rows take (the database may hold rows already)."""

    document: int
    run: int
    window: int
    finding: int
    verdict: int
    review: int
    seq: int
    prev_hash: str


def contracts(limit: int = 60) -> list[Contract]:
    """The first `limit` contracts of CUAD's dev split, with their labelled clauses."""
    keys = {c["name"]: c["key"] for c in json.loads(TAXONOMY.read_text())["categories"]}
    found = []
    with (CUAD / "spans_dev.jsonl").open(encoding="utf-8") as lines:
        for line, _ in zip(lines, range(limit), strict=False):
            row = json.loads(line)
            pages, chars = int(row["pdf_pages"] or 1), int(row["txt_chars"])
            clauses = tuple(
                _clause(keys[name], label, pages, chars)
                for name, label in row["labels"].items()
                if name in keys and label["spans"]
            )
            found.append(
                Contract(row["master_filename"], row["contract_type"], pages, chars, clauses)
            )
    return found


def _clause(key: str, label: dict[str, Any], pages: int, chars: int) -> Clause:
    span = label["spans"][0]
    page = 1 + span["start"] * pages // max(chars, 1)
    text = label["clauses"][0]
    return Clause(key, text, page, span["start"], span["end"], str(label["answer"])[:300])


def first_ids(conn: Any) -> Ids:
    """Ids after the largest in each table, and the audit chain's head to continue from."""

    def after(table: str, column: str = "id") -> int:
        query = f"SELECT coalesce(max({column}), 0) + 1 FROM {table}"
        return int(conn.execute(query).fetchone()[0])

    head = conn.execute("SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    return Ids(
        after("documents"),
        after("analysis_runs"),
        after("analysis_windows"),
        after("findings"),
        after("guard_verdicts"),
        after("finding_reviews"),
        after("audit_events", "seq"),
        GENESIS_HASH if head is None else head[0],
    )


class Fill:
    """The rows of `count` documents in `matter_ids` of one tenant, table by table."""

    def __init__(
        self, count: int, tenant_id: int, matter_ids: Sequence[int], ids: Ids, actor: str
    ) -> None:
        self.count, self.tenant_id, self.matter_ids = count, tenant_id, list(matter_ids)
        self.ids, self.actor = ids, actor
        self.templates = contracts()
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
        self._finding, self._verdict, self._review = ids.finding, ids.verdict, ids.review
        self._events: list[dict[str, Any]] = []

    def build(self) -> dict[str, list[tuple[Any, ...]]]:
        for n in range(self.count):
            self._document(n)
        self.rows["audit_events"] = list(_chained(self._events, self.ids.seq, self.ids.prev_hash))
        return self.rows

    def _document(self, n: int) -> None:
        c = self.templates[n % len(self.templates)]
        doc, run = self.ids.document + n, self.ids.run + n
        matter = self.matter_ids[n % len(self.matter_ids)]
        at = T0 + timedelta(seconds=60 * n)
        stamp = format_timestamp(at)
        sha = hashlib.sha256(f"document {n}".encode()).hexdigest()
        size = 40_000 * c.pages
        self.rows["documents"].append(
            (doc, self.tenant_id, matter, sha, c.name, size, "application/pdf", c.pages,
             c.chars, None, None, "", "dms", f"DOC-{n}", "1", at)
        )
        clauses = c.clauses[:MAX_CLAUSES]
        self.rows["analysis_runs"].append(_run(run, doc, c, len(clauses), at))
        self.rows["analysis_windows"].append(_window(self.ids.window + n, run, c, clauses))
        events = [("document.uploaded", f"document:{doc}", self.actor,
                   {"sha256": sha, "name": c.name, "size_bytes": size, "run_id": run,
                    "external_system": "dms", "external_id": f"DOC-{n}",
                    "external_version": "1"})]
        events += [(action, f"run:{run}", "system", {"document_id": doc, **details})
                   for action, details in _run_events(c, len(clauses))]
        first_finding = self._finding
        self._findings(run, c, clauses, at)
        events += [("guard.verdict", f"run:{run}", "system",
                    {"document_id": doc, "finding": k, "verdict": "safe", "outcome": "release"})
                   for k in range(self._finding - first_finding)]
        events.append(("run.done", f"run:{run}", "system",
                       {"document_id": doc, "findings": len(clauses) + 1, "held": 0,
                        "flagged": 0}))
        if n % 10 == 0 and clauses:
            self._reviewed(first_finding + 1, clauses[0], at)
        self._events += [
            _event(action, subject, actor, details, self.tenant_id, matter, stamp)
            for action, subject, actor, details in events
        ]

    def _findings(self, run: int, c: Contract, clauses: Sequence[Clause], at: datetime) -> None:
        summary = _summary(c)
        citations = [{"text": summary, "provisions": [{"n": 1, "page": 1, "start": 0,
                                                        "end": min(c.chars, 600)}]}]
        self._finding_row(run, 0, "summary", "", summary, None, "", json.dumps(citations), at)
        for i, clause in enumerate(clauses, 1):
            self._finding_row(run, i, "clause", clause.category, clause.text, clause, clause.value,
                              None, at)

    def _finding_row(
        self, run: int, ordinal: int, kind: str, category: str, text: str,
        clause: Clause | None, value: str, citations: str | None, at: datetime,
    ) -> None:
        fid = self._finding
        self._finding += 1
        where = (None, None, None, None) if clause is None else (
            clause.page, clause.start, clause.end, 1 + clause.start // 1500)
        scored = (None, None, None) if clause is None else (
            0.82, "agreed", "the model and the clause scorer found it")
        self.rows["findings"].append(
            (fid, run, ordinal, kind, category, text, *where, value,
             None if clause is None else "[0]", None if clause is None else 1, citations,
             *scored, "released", "", None, "")
        )
        self.rows["guard_verdicts"].append(
            (self._verdict, fid, "safe", "[]", MODEL, POLICY, "a" * 64, "release", 0.02, "", at)
        )
        self._verdict += 1

    def _reviewed(self, finding_id: int, clause: Clause, at: datetime) -> None:
        self.rows["finding_reviews"].append(
            (self._review, finding_id, "confirmed", clause.category, clause.value, clause.text,
             clause.page, clause.start, clause.end, "checked against the signed copy",
             "reviewer <reviewer@firm.example>", None, at + timedelta(hours=2))
        )
        self._review += 1


def _summary(c: Contract) -> str:
    parties = next((x.text for x in c.clauses if x.category == "parties"), "the parties")
    return (
        f"This {c.kind.replace('_', ' ').lower()} agreement binds {parties}. It runs "
        f"{c.pages} pages and sets out {len(c.clauses)} of the clause types reviewers look "
        "for, including its term, termination rights and governing law."
    )


def _run(run: int, doc: int, c: Contract, clauses: int, at: datetime) -> tuple[Any, ...]:
    usage = {"document_tokens": c.chars // 4, "prompt_tokens": c.chars // 4 + 900,
             "completion_tokens": 420, "calls": 2,
             "seconds": {"extracting": 0.41, "windowing": 0.05, "analyzing": 21.7,
                         "guarding": 3.2}}
    grounding = {"proposed": clauses + 1, "verified": clauses,
                 "dropped": [{"window": 0, "category": "audit_rights", "provision": 3,
                              "value": "", "why": "the provision does not say so"}]}
    done = at + timedelta(seconds=30)
    return (run, doc, "done", "", "", clauses + 1, clauses + 1, 0, MODEL, "main", 1, "[]",
            json.dumps(usage), json.dumps(grounding), at, done, done)


def _window(wid: int, run: int, c: Contract, clauses: Sequence[Clause]) -> tuple[Any, ...]:
    found = [{"category": x.category, "provisions": [1 + x.start // 1500], "value": x.value}
             for x in clauses]
    sentences = [{"text": _summary(c), "provisions": [1]}]
    raw = json.dumps({"summary": sentences, "clauses": found})
    return (wid, run, 0, 1, max(1, c.chars // 1500), 0, c.chars, c.chars // 4 + 900,
            hashlib.sha256(raw.encode()).hexdigest(), raw, _summary(c), json.dumps(sentences),
            json.dumps(found), c.chars // 4 + 900, 420, 21.7)


def _run_events(c: Contract, clauses: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("run.extracted", {"pages": c.pages, "chars": c.chars, "text_sha256": "b" * 64}),
        ("run.windowed", {"provisions": c.chars // 1500, "windows": 1, "tokens": [c.chars // 4]}),
        ("window.analyzed", {"window": 0, "model_id": MODEL, "model_revision": "main",
                             "prompt_sha256": "c" * 64, "prompt_tokens": c.chars // 4 + 900,
                             "completion_tokens": 420}),
        ("run.analyzed", {"clauses": clauses, "proposed": clauses + 1, "verified": clauses,
                          "dropped_refs": 1, "summary_sha256": "d" * 64}),
    ]


def _event(
    action: str, subject: str, actor: str, details: dict[str, Any], tenant: int, matter: int,
    at: str,
) -> dict[str, Any]:
    """The hashed content of an audit event (core.audit_chain.event_content's form, outcome
    "ok"), seq and prev_hash left to _chained. `at` is the canonical text of its instant: the
    chain hashes that text, and formatting a datetime per event was a third of the fill."""
    return {"occurred_at": at, "actor_id": None, "actor": actor, "tenant_id": tenant,
            "matter_id": matter, "action": action, "subject": subject, "details": details,
            "outcome": "ok"}


def _chained(events: Iterable[dict[str, Any]], seq: int, prev: str) -> Iterator[tuple[Any, ...]]:
    """The events as audit rows, seq and hashes continuing the chain from (seq, prev)."""
    for n, content in enumerate(events, seq):
        content["seq"], content["prev_hash"] = n, prev
        prev = event_hash(prev, content)
        yield (n, content["occurred_at"], None, content["actor"], content["tenant_id"],
               content["matter_id"], content["action"], content["subject"],
               json.dumps(content["details"]), "ok", "", "", content["prev_hash"], prev)


AUDIT_COLUMNS = ("seq", "occurred_at", "actor_id", "actor", "tenant_id", "matter_id", "action",
                 "subject", "details", "outcome", "request_id", "client_address", "prev_hash",
                 "hash")
COLUMNS = {
    "documents": ("id", "tenant_id", "matter_id", "sha256", "original_name", "size_bytes",
                  "media_type", "pages", "chars", "uploaded_by", "purged_at", "purge_reason",
                  "external_system", "external_id", "external_version", "created_at"),
    "analysis_runs": ("id", "document_id", "state", "reason", "reason_code", "stage_done",
                      "stage_total", "attempts", "model_id", "model_revision", "dropped_refs",
                      "warnings", "usage", "grounding", "created_at", "updated_at",
                      "finished_at"),
    "analysis_windows": ("id", "run_id", "index", "first_provision", "last_provision", "start",
                         "end", "tokens", "input_sha256", "output_raw", "summary", "sentences",
                         "clauses", "prompt_tokens", "completion_tokens", "seconds"),
    "findings": ("id", "run_id", "ordinal", "kind", "category", "text", "page", "start", "end",
                 "provision", "value", "windows", "support", "citations", "confidence",
                 "basis", "basis_reason", "status", "released_by", "released_at",
                 "release_reason"),
    "guard_verdicts": ("id", "finding_id", "verdict", "categories", "model", "policy_version",
                       "policy_sha256", "outcome", "score", "reason", "created_at"),
    "finding_reviews": ("id", "finding_id", "decision", "category", "value", "text", "page",
                        "start", "end", "note", "reviewer", "reviewer_id", "reviewed_at"),
    "audit_events": AUDIT_COLUMNS,
}


def fill(url: str, count: int, tenant_id: int, matter_ids: Sequence[int], actor: str) -> int:
    """Insert `count` analysed documents (COPY, parents first), then ANALYZE; the first new
    document's id."""
    import psycopg

    with psycopg.connect(url) as conn:
        ids = first_ids(conn)
        rows = Fill(count, tenant_id, matter_ids, ids, actor).build()
        with conn.cursor() as cur:
            # Foreign keys unchecked while loading (rows consistent by construction): the
            # checks, one per row, were 60 % of the COPY. Needs a superuser, which bypasses
            # row-level security too.
            cur.execute("SET session_replication_role = replica")
            for table, columns in COLUMNS.items():
                quoted = ", ".join(f'"{c}"' for c in columns)
                with cur.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in rows[table]:
                        copy.write_row(row)
                if table != "audit_events":  # its seq is the chain's, not a sequence's
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) "
                        f"FROM {table}"
                    )
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    return ids.document
