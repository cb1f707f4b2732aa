"""The clause scorer: candidate offsets and the shipped artifact (the metric: test_cuad_metrics)."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import pytest

from docanalysis.scoring import Candidate, score_contract
from docanalysis.scoring.model import MANIFEST, WEIGHTS
from docanalysis.scoring.passages import passages

CONTRACT = """DISTRIBUTION AGREEMENT

This Distribution Agreement (the "Agreement") is entered into as of June 21, 1999 by and
between ACME, INC., a Delaware corporation ("Acme"), and Widget Co. ("Widget").

1. TERM

The term of this Agreement shall continue for one (1) year following the Effective Date; \
thereafter it renews for successive one-year terms unless either party gives notice.

12. GOVERNING LAW

This Agreement shall be governed by the laws of the State of California. Neither party may \
assign this Agreement without the prior written consent of the other party.
"""


def test_every_passage_is_the_source_text() -> None:
    found = passages(CONTRACT)
    kinds = {p.kind for p in found}
    assert {"sent", "clause", "date", "line"} <= kinds
    for p in found:
        piece = CONTRACT[p.start : p.end]
        assert piece == piece.strip() and piece
    dates = [CONTRACT[p.start : p.end] for p in found if p.kind == "date"]
    assert dates == ["June 21, 1999"]


def test_headings_are_attached_to_the_clauses_below() -> None:
    found = passages(CONTRACT)
    law = next(p for p in found if CONTRACT[p.start : p.end].startswith("This Agreement shall"))
    assert law.heading == "12. GOVERNING LAW"


def test_abbreviations_do_not_end_sentences() -> None:
    found = [CONTRACT[p.start : p.end] for p in passages(CONTRACT) if p.kind == "sent"]
    assert any("ACME, INC., a Delaware" in s for s in found)


def test_artifact_matches_its_manifest() -> None:
    folder = resources.files("docanalysis").joinpath("data/scorer")
    manifest = json.loads(folder.joinpath(MANIFEST).read_text(encoding="utf-8"))
    blob = folder.joinpath(WEIGHTS).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == manifest["files"][WEIGHTS]
    assert len(blob) < 8_000_000
    assert "CC BY 4.0" in manifest["training_data"]


def test_score_contract_returns_grounded_calibrated_candidates() -> None:
    found = score_contract(CONTRACT, ["Governing Law", "Agreement Date"], candidates=5)
    assert set(found) == {"Governing Law", "Agreement Date"}
    for items in found.values():
        assert 0 < len(items) <= 5
        assert [c.probability for c in items] == sorted(
            (c.probability for c in items), reverse=True
        )
        for c in items:
            assert isinstance(c, Candidate)
            assert c.text == CONTRACT[c.start : c.end]
            assert 0.0 <= c.probability <= 1.0
    assert "California" in found["Governing Law"][0].text
    assert found["Agreement Date"][0].text == "June 21, 1999"


def test_score_contract_all_categories_and_errors() -> None:
    assert len(score_contract(CONTRACT)) == 41
    assert all(v == [] for v in score_contract("", ["Insurance"]).values())
    with pytest.raises(KeyError):
        score_contract(CONTRACT, ["Not A Category"])
