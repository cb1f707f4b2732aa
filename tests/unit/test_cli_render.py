"""How `docanalysis analyze` renders an analysis: JSON for programs, Markdown for people."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from docanalysis.cli_analyze import as_json, as_markdown
from docanalysis.services.views import DocumentAnalysis, DocumentView, FindingView, RunStatus

STATUS = RunStatus(
    7,
    "held",
    "Held for review",
    "1 of 3 results were held",
    3,
    3,
    True,
    datetime(2026, 11, 27, tzinfo=UTC),
)
DOC = DocumentView(
    3, 1, "supply.pdf", "ab" * 32, 1000, 12, 30000, datetime(2026, 11, 27, tzinfo=UTC), STATUS
)


def finding(kind: str, status: str, **kw: object) -> FindingView:
    values: dict[str, object] = dict(
        kind=kind,
        category="",
        category_name="",
        text="",
        page=None,
        start=None,
        end=None,
        value="",
        status=status,
        verdict="safe" if status == "released" else "unsafe",
        guard_categories=() if status == "released" else ("S1",),
        guard_model="guard@1",
        guard_policy_version="legal-2",
        guard_policy_sha256="c0ffee",
    )
    values.update(kw)
    return FindingView(**values)  # type: ignore[arg-type]


ANALYSIS = DocumentAnalysis(
    document=DOC,
    model_id="m",
    model_revision="r1",
    summary=finding("summary", "released", text="A supply agreement."),
    clauses=(
        finding(
            "clause",
            "released",
            category="governing_law",
            category_name="Governing Law",
            text="This Agreement is governed by\nthe laws of Delaware.",
            page=11,
            start=100,
            end=151,
            value="Delaware, USA",
            windows=(0, 1),
            support=2,
            confidence=0.92,
            basis="agreed",
            basis_reason="the model proposed it and the scorer agrees (0.90)",
        ),
        finding(
            "clause", "held", category="parties", category_name="Parties", page=1, start=0, end=40
        ),
    ),
    warnings=("page 4 could not be read and was skipped",),
    dropped_refs=2,
)


def test_json_lists_released_clauses_and_only_locates_held_ones() -> None:
    out = as_json(ANALYSIS)
    assert out["clauses"] == [
        {
            "category": "governing_law",
            "text": "This Agreement is governed by\nthe laws of Delaware.",
            "page": 11,
            "location": "",
            "start": 100,
            "end": 151,
            "value": "Delaware, USA",
            "windows": [0, 1],
            "support": 2,
            "confidence": 0.92,
            "basis": "agreed",
            "basis_reason": "the model proposed it and the scorer agrees (0.90)",
            "guard": {
                "status": "released",
                "verdict": "safe",
                "categories": [],
                "model": "guard@1",
                "policy_version": "legal-2",
                "policy_sha256": "c0ffee",
                "reason": "",
            },
        }
    ]
    assert out["held"] == [
        {
            "category": "parties",
            "page": 1,
            "location": "",
            "start": 0,
            "end": 40,
            "guard": {
                "status": "held",
                "verdict": "unsafe",
                "categories": ["S1"],
                "model": "guard@1",
                "policy_version": "legal-2",
                "policy_sha256": "c0ffee",
                "reason": "",
            },
        }
    ]
    assert out["summary"]["text"] == "A supply agreement."
    assert (out["dropped_references"], out["warnings"]) == (
        2,
        ["page 4 could not be read and was skipped"],
    )


def test_markdown_quotes_the_source_and_marks_what_is_held() -> None:
    text = as_markdown(ANALYSIS)
    assert text.startswith("# supply.pdf\n\n12 pages · sha256 `abababababababab…` · model m (r1)")
    assert (
        "### Governing Law — p. 11\n\n> This Agreement is governed by\n> the laws of Delaware."
        in text
    )
    assert "Value: **Delaware, USA**" in text
    assert "### Parties — p. 1\n\n*Held for review by the safety screen.*" in text
    assert text.endswith("Warning: page 4 could not be read and was skipped\n")


def test_a_word_file_is_cited_by_section_and_paragraph_and_has_no_page_count() -> None:
    word = dataclasses.replace(
        ANALYSIS,
        document=dataclasses.replace(DOC, name="msa.docx", pages=None),
        clauses=tuple(
            dataclasses.replace(c, location="§ 3. Governing Law, ¶ 1") for c in ANALYSIS.clauses
        ),
    )

    text = as_markdown(word)

    assert text.startswith("# msa.docx\n\nsha256 `abababababababab…` · model m (r1)")
    assert "### Governing Law — § 3. Governing Law, ¶ 1\n\n> This Agreement" in text
    assert as_json(word)["clauses"][0]["location"] == "§ 3. Governing Law, ¶ 1"
