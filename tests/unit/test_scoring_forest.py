"""The exported forest predicts exactly what the scikit-learn model it came from predicts."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from docanalysis.scoring.forest import Forest


def _fitted() -> tuple[HistGradientBoostingClassifier, np.ndarray]:
    draw = np.random.default_rng(7)
    rows = draw.normal(size=(3000, 6))
    labels = (rows[:, 0] + rows[:, 1] * rows[:, 2] + draw.normal(scale=0.5, size=3000)) > 0
    rows[draw.random(rows.shape) < 0.05] = np.nan  # missing values take the learned side
    model = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(rows, labels)
    return model, draw.normal(size=(500, 6))


def test_decision_matches_scikit_learn() -> None:
    model, rows = _fitted()
    rows[::7, 2] = np.nan
    forest = Forest.from_sklearn(model)
    np.testing.assert_allclose(forest.decision(rows), model.decision_function(rows), rtol=1e-9)
    np.testing.assert_allclose(forest.probability(rows), model.predict_proba(rows)[:, 1], rtol=1e-9)


def test_arrays_round_trip() -> None:
    model, rows = _fitted()
    forest = Forest.from_sklearn(model)
    again = Forest.from_arrays({f"f_{k}": v for k, v in forest.arrays().items()}, prefix="f_")
    assert np.array_equal(again.decision(rows), forest.decision(rows))
