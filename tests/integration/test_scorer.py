"""The clause scorer on real CUAD contracts: training, the artifact, and what it ranks first."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from docanalysis.evaluation.cuad import categories, load_contracts
from docanalysis.scoring import ARTIFACT, load_scorer
from docanalysis.scoring.model import ClauseScorer
from docanalysis.scoring.train import prepare_all
from docanalysis.scoring.training import text_id, train
from tests.conftest import CUAD

NAMES = categories(CUAD, "dev")
CONTRACTS = load_contracts(CUAD, "dev")

CONTRACT = (
    "DISTRIBUTION AGREEMENT\n\n"
    "This Distribution Agreement is dated as of March 3, 2021 by and between Northwind "
    'Traders, Inc., a Delaware corporation ("Supplier"), and Contoso Ltd. ("Distributor").\n\n'
    "1. Appointment. Supplier appoints Distributor as its distributor of the Products in the "
    "Territory.\n\n"
    "2. Price. Distributor shall pay the prices in Exhibit A within thirty days of invoice.\n\n"
    "3. Governing Law. This Agreement shall be governed by and construed in accordance with "
    "the laws of the State of New York, without regard to its conflict of laws rules.\n\n"
    "4. Assignment. Neither party may assign this Agreement without the prior written consent "
    "of the other party.\n"
)


@pytest.fixture(scope="module")
def small() -> ClauseScorer:
    """Trained on 16 contracts: minutes of the real thing, seconds here."""
    return train(prepare_all(CONTRACTS[:16], processes=1), NAMES)


def test_passages_are_the_sources_text_ranked_and_distinct(small: ClauseScorer) -> None:
    text = CONTRACTS[20].txt.read_text(encoding="utf-8")
    ranked = small.score(text, NAMES, k=5)
    assert list(ranked) == NAMES
    for passages in ranked.values():
        assert len(passages) <= 5
        assert all(text[p.start : p.end] == p.text for p in passages)
        probabilities = [p.probability for p in passages]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(0.0 <= p <= 1.0 for p in probabilities)
        for a in passages:
            for b in passages:
                shared = min(a.end, b.end) - max(a.start, b.start)
                assert a is b or shared <= 0.5 * min(a.end - a.start, b.end - b.start)


def test_the_saved_artifact_scores_exactly_as_the_trained_one(
    small: ClauseScorer, tmp_path: Path
) -> None:
    small.save(tmp_path)
    loaded = ClauseScorer.load(tmp_path)
    text = CONTRACTS[21].txt.read_text(encoding="utf-8")
    before, after = small.score(text, NAMES), loaded.score(text, NAMES)
    for name in NAMES:
        assert [(p.start, p.end) for p in before[name]] == [(p.start, p.end) for p in after[name]]
        np.testing.assert_allclose(
            [p.probability for p in before[name]], [p.probability for p in after[name]], atol=1e-6
        )
    assert loaded.meta["contracts"] == 16


def test_an_artifact_of_another_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "scorer.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="not a docanalysis-clause-scorer/1 artifact"):
        ClauseScorer.load(tmp_path)


def test_the_shipped_scorer_is_small_and_says_what_it_was_trained_on() -> None:
    scorer = load_scorer()
    size = sum(f.stat().st_size for f in ARTIFACT.iterdir())
    assert size < 8_000_000
    assert scorer.categories == NAMES
    assert scorer.meta["contracts"] == 480
    assert "CC BY 4.0" in scorer.meta["data"] and "Atticus" in scorer.meta["data"]
    ids = {text_id(c.txt.read_text(encoding="utf-8")) for c in CONTRACTS}
    assert set(scorer.meta["trained_on"]) == ids


def test_the_shipped_scorer_finds_a_contract_it_never_saw() -> None:
    ranked = load_scorer().score(CONTRACT, NAMES, k=3)
    law = ranked["Governing Law"][0]
    assert law.text.startswith("This Agreement shall be governed by") and law.probability > 0.5
    assert ranked["Agreement Date"][0].text == "March 3, 2021"
    assert ranked["Document Name"][0].text == "DISTRIBUTION AGREEMENT"
    assignment = ranked["Anti-Assignment"][0]
    assert "Neither party may assign" in assignment.text and assignment.probability > 0.5
    # Nothing here is a non-compete: whatever is offered, it is offered with little confidence.
    assert all(p.probability < 0.3 for p in ranked["Non-Compete"])
