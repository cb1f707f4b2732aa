"""`docanalysis eval cuad` end to end on a small slice of the dev split (the baseline engine)."""

from __future__ import annotations

import json

import pytest

from docanalysis.cli import main
from tests.conftest import CUAD

FIGURES = {"aupr", "prec_at_80_recall", "prec_at_90_recall", "precision", "recall"}
CATEGORIES = 41


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, str]:
    out = tmp_path_factory.mktemp("eval")
    argv = ["eval", "cuad", "--data", str(CUAD), "--split", "dev", "--engine", "baseline"]
    # Three contracts, each scored by a fold model trained on a few others: seconds, not the
    # ten minutes of the whole split.
    argv += ["--source", "txt", "--limit", "3", "--train-limit", "6", "--candidates", "5"]
    argv += ["--out", str(out / "figures.json"), "--predictions", str(out / "preds.json")]
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    figures = json.loads((out / "figures.json").read_text())
    predictions = json.loads((out / "preds.json").read_text())
    return figures, predictions, (out / "figures.json").read_text()


def test_writes_the_figures_with_the_exact_keys(run: tuple[dict, dict, str]) -> None:
    figures, _, _ = run
    assert set(figures) == {
        "overall",
        "categories",
        "grounding_rate",
        "seconds_per_page",
        "train_seconds",
        "contracts",
        "pages",
        "failures",
        "engine",
        "source",
        "candidates",
    }
    assert set(figures["overall"]) == FIGURES
    assert len(figures["categories"]) == CATEGORIES
    assert all(set(scores) == FIGURES for scores in figures["categories"].values())
    assert (figures["engine"], figures["source"], figures["candidates"]) == ("baseline", "txt", 5)
    assert figures["contracts"] == 3
    # The first three contracts of spans_dev.jsonl: 9 + 11 + 3 pages.
    assert figures["pages"] == 23


def test_every_finding_is_the_sources_text(run: tuple[dict, dict, str]) -> None:
    figures, _, _ = run
    assert figures["grounding_rate"] == 1.0
    assert figures["failures"] == {}


def test_predictions_are_in_cuads_format(run: tuple[dict, dict, str]) -> None:
    _, predictions, _ = run
    first = "2ThemartComInc_19990826_10-12G_EX-10.10_6700288_EX-10.10_Co-Branding Agreement_"
    assert len(predictions) == 3 * CATEGORIES
    assert f"{first} Agency Agreement__Governing Law" in predictions
    for found in predictions.values():
        assert len(found) <= 5
        assert all(set(p) == {"text", "probability"} for p in found)
        assert all(0.0 <= p["probability"] <= 1.0 for p in found)
