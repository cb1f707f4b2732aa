"""The clause scorer: a calibrated probability for every (passage, category), on CPU.

`load_scorer()` reads the artifact shipped in docanalysis/data/scorer (trained on CUAD's dev
split by `make scorer`); its `score(text, names, k)` ranks each category's passages.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docanalysis.scoring.model import ClauseScorer

ARTIFACT = Path(__file__).resolve().parents[1] / "data" / "scorer"


@cache
def load_scorer(folder: Path = ARTIFACT) -> ClauseScorer:
    from docanalysis.scoring.model import ClauseScorer

    return ClauseScorer.load(folder)
