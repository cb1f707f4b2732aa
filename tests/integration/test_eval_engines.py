"""The scorer and fused engines of `docanalysis eval cuad`, on a slice of the dev split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docanalysis.cli import main
from docanalysis.evaluation.cuad import Outcome
from docanalysis.evaluation.engines import fuse_outcomes
from tests.conftest import CUAD


def _eval(tmp_path: Path, engine: str, *extra: str) -> dict:  # type: ignore[type-arg]
    out = tmp_path / f"{engine}.json"
    argv = ["eval", "cuad", "--data", str(CUAD), "--split", "dev", "--engine", engine]
    argv += ["--limit", "1", "--train-limit", "12", "--candidates", "5", "--out", str(out)]
    with pytest.raises(SystemExit) as done:
        main([*argv, *extra])
    assert done.value.code == 0
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def test_the_scorer_is_retrained_without_the_contracts_it_is_measured_on(
    tmp_path: Path,
) -> None:
    # The shipped scorer saw the whole dev split: the engine must train fold models instead.
    figures = _eval(tmp_path, "scorer")
    assert figures["engine"] == "scorer" and figures["contracts"] == 1
    assert figures["train_seconds"] > 0
    assert figures["grounding_rate"] == 1.0
    assert 0.0 < figures["overall"]["aupr"] <= 1.0


def test_fusion_ranks_agreement_above_either_engine_alone() -> None:
    text = "Governing law is New York. Term is five years. Price is fixed."
    scored = Outcome(
        found={"c": {"Governing Law": [(text[:26], 0.9, 0, 26), (text[48:], 0.6, 48, 63)]}},
        texts={"c": text},
    )
    proposed = Outcome(
        found={"c": {"Governing Law": [(text[:26], 1.0, 0, 26), (text[27:47], 1.0, 27, 47)]}},
        texts={"c": text},
    )
    fused = fuse_outcomes(scored, proposed, ["Governing Law", "Parties"], 5, weight=0.2)
    assert (
        fused.found["c"]
        == {
            "Governing Law": [
                (text[:26], 0.92, 0, 26),  # agreed: 0.2 + 0.8 * 0.9
                (text[48:], 0.48, 48, 63),  # the scorer's candidate: 0.8 * 0.6
                (text[27:47], 0.2, 27, 47),  # the model's alone, unconfirmed: 0.2 + 0.8 * 0
            ],
            "Parties": [],
        }
    )
