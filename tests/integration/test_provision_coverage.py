"""Provision coverage on CUAD's dev split: expert clause spans must be citable (issue 3, item 1)."""

from __future__ import annotations

from bench.provision_coverage import measure, summary
from tests.conftest import CUAD

TARGET = 0.95


def test_expert_spans_fall_inside_one_or_two_adjacent_provisions() -> None:
    coverage = measure(CUAD, "dev")

    result = summary(coverage)
    print(
        f"provision coverage {coverage.share:.2%} of {result['spans']} expert spans, "
        f"{result['provisions']} provisions, chars {result['provision_chars']}"
    )
    assert result["contracts"] == 480
    assert result["spans"] == 12710
    assert coverage.share >= TARGET


def test_coverage_holds_on_the_texts_laid_out_as_pdf_lines() -> None:
    # No blank lines and wrapped paragraphs, as pypdf extracts them: the splitter must not lean
    # on the text files' layout.
    coverage = measure(CUAD, "dev", pdf=True)

    print(f"provision coverage (PDF-like layout) {coverage.share:.2%}")
    assert coverage.share >= TARGET
