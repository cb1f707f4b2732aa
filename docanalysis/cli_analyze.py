"""`docanalysis analyze FILE`: the whole pipeline in this process, recorded like a web upload."""

from __future__ import annotations

import getpass
import json
import sys
import time
from pathlib import Path
from typing import Any

from docanalysis.config import load_settings
from docanalysis.core.errors import DocAnalysisError
from docanalysis.services.views import Actor, DocumentAnalysis, FindingView

CLI_MATTER = "Command line"
USAGE_KEYS = ("document_tokens", "prompt_tokens", "completion_tokens", "calls")


class TerminalProgress:
    """Stage, part i of n and elapsed time on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.enabled = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        elapsed = int(time.monotonic() - self.started)
        part = f" {min(done + 1, total)} of {total}" if total and done < total else ""
        line = f"[{elapsed // 60}:{elapsed % 60:02d}] {stage}{part}"
        sys.stderr.write(f"\r{line:<60}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def analyze_file(path: str, fmt: str) -> int:
    from docanalysis.db.migrate import upgrade_database
    from docanalysis.services.matters import ensure_matter
    from docanalysis.services.queries import document_analysis
    from docanalysis.services.runtime import build_runtime
    from docanalysis.services.steps import run_to_end
    from docanalysis.services.submit import submit_document
    from workers.queue import InProcessQueue

    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise DocAnalysisError(f"cannot read {path}: {err.strerror}") from None
    settings = load_settings()
    upgrade_database(settings.database_url)
    rt = build_runtime(settings, queue=InProcessQueue())
    actor = Actor(user_id=None, identity=f"cli:{getpass.getuser()}")
    matter_id = ensure_matter(rt, actor, CLI_MATTER)
    submitted = submit_document(rt, actor, matter_id, Path(path).name, data)
    progress = TerminalProgress()
    try:
        state = run_to_end(rt, submitted.run_id, progress)
    finally:
        progress.close()
    analysis = document_analysis(rt, None, submitted.document_id)
    if state == "failed":
        raise DocAnalysisError(analysis.document.status.reason)
    sys.stdout.write(render(analysis, fmt) + "\n")
    return 0


def _guard(finding: FindingView) -> dict[str, Any]:
    """Who judged the output, under which policy, and what it decided."""
    return {
        "status": finding.status,
        "verdict": finding.verdict,
        "categories": list(finding.guard_categories),
        "model": finding.guard_model,
        "policy_version": finding.guard_policy_version,
        "policy_sha256": finding.guard_policy_sha256,
        "reason": finding.guard_reason,
    }


def as_json(a: DocumentAnalysis) -> dict[str, Any]:
    doc = a.document
    released = [c for c in a.clauses if c.shown]
    return {
        "document": {
            "sha256": doc.sha256,
            "filename": doc.name,
            "pages": doc.pages,
            "chars": doc.chars,
        },
        "model": {"id": a.model_id, "revision": a.model_revision},
        "run": {"id": doc.status.run_id, "state": doc.status.state, "reason": doc.status.reason},
        "summary": {
            "text": a.summary.text if a.summary else "",
            "sentences": [
                {
                    "text": line.text,
                    "provisions": [
                        {"n": p.n, "page": p.page, "location": p.location}
                        | {"start": p.start, "end": p.end}
                        for p in line.provisions
                    ],
                }
                for line in (a.summary.sentences if a.summary else ())
            ],
            "guard": _guard(a.summary) if a.summary else None,
        },
        "clauses": [
            {
                "category": c.category,
                "text": c.text,
                "page": c.page,
                "location": c.location,  # a Word file's "§ section, ¶ n"; "" for a page
                "start": c.start,
                "end": c.end,
                "value": c.value,
                "windows": list(c.windows),
                "support": c.support,
                "confidence": c.confidence,
                "basis": c.basis,
                "basis_reason": c.basis_reason,
                "guard": _guard(c),
            }
            for c in released
        ],
        # Held by the guard: located, never shown.
        "held": [
            {
                "category": c.category,
                "page": c.page,
                "location": c.location,
                "start": c.start,
                "end": c.end,
                "guard": _guard(c),
            }
            for c in a.clauses
            if not c.shown
        ],
        "dropped_references": a.dropped_refs,
        "grounding": a.grounding,
        "usage": {key: a.usage.get(key, 0) for key in USAGE_KEYS}
        | {"seconds": a.usage.get("seconds", {})},
        "warnings": list(a.warnings),
    }


def _summary_markdown(summary: FindingView) -> str:
    """The summary's sentences, each followed by the provisions it cites and their pages."""
    if not summary.sentences:
        return summary.text
    parts = []
    for line in summary.sentences:
        cites = ", ".join(p.location or f"§{p.n} p. {p.page}" for p in line.provisions)
        parts.append(f"{line.text} [{cites}]" if cites else line.text)
    return " ".join(parts)


def as_markdown(a: DocumentAnalysis) -> str:
    doc = a.document
    lines = [
        f"# {doc.name}",
        "",
        f"{'' if doc.pages is None else f'{doc.pages} pages · '}"
        f"sha256 `{doc.sha256[:16]}…` · model {a.model_id} "
        f"({a.model_revision}) · {doc.status.label}",
        "",
        "## Summary",
        "",
    ]
    if a.summary and a.summary.shown:
        lines += [_summary_markdown(a.summary) or "(no summary)", ""]
    else:
        lines += ["*Held for review by the safety screen.*", ""]
    lines += ["## Clauses", ""]
    if not a.clauses:
        lines += ["No clauses found.", ""]
    for c in a.clauses:
        head = f"### {c.category_name} — {c.location or f'p. {c.page}'}"
        if not c.shown:
            lines += [head, "", "*Held for review by the safety screen.*", ""]
            continue
        if c.status == "flagged":
            head += f" — flagged for review ({', '.join(c.guard_categories)})"
        quote = "\n".join(f"> {ln}" for ln in c.text.splitlines() if ln.strip())
        value = f"\n\nValue: **{c.value}**" if c.value else ""
        scored = c.basis and c.confidence is not None
        basis = f"; confidence {c.confidence:.2f}: {c.basis_reason}" if scored else ""
        lines += [head, "", quote + value, f"\n(characters {c.start}–{c.end}{basis})", ""]
    lines += [f"Warning: {w}" for w in a.warnings]
    return "\n".join(lines).rstrip() + "\n"


def render(a: DocumentAnalysis, fmt: str) -> str:
    if fmt == "markdown":
        return as_markdown(a)
    return json.dumps(as_json(a), ensure_ascii=False, indent=2)
