"""A fitted gradient-boosted forest as plain arrays, and its prediction in numpy.

The calibrating stage is trained with scikit-learn's HistGradientBoostingClassifier; shipping
it as a pickle would tie the artifact to one library version and load code from a data file.
Its trees are exported to arrays instead (which feature, which threshold, which child), and
walked here with the same rule scikit-learn uses: left when the value is <= the threshold,
missing values where the node says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FIELDS = ("feature", "threshold", "left", "right", "leaf", "value", "missing_left")


@dataclass(frozen=True)
class Forest:
    """Every tree's nodes, concatenated; `roots` are the trees' first nodes (children are
    absolute indexes into the arrays)."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    missing_left: np.ndarray
    roots: np.ndarray
    baseline: float

    @classmethod
    def from_sklearn(cls, model: Any) -> Forest:
        """From a fitted binary HistGradientBoostingClassifier with numeric features only."""
        parts: dict[str, list[np.ndarray]] = {name: [] for name in FIELDS}
        roots, offset = [], 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits cannot be exported")
            roots.append(offset)
            parts["feature"].append(nodes["feature_idx"].astype(np.int32))
            parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
            parts["left"].append(nodes["left"].astype(np.int32) + offset)
            parts["right"].append(nodes["right"].astype(np.int32) + offset)
            parts["leaf"].append(nodes["is_leaf"].astype(bool))
            parts["value"].append(nodes["value"].astype(np.float64))
            parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool))
            offset += len(nodes)
        arrays = {name: np.concatenate(chunks) for name, chunks in parts.items()}
        baseline = float(np.ravel(model._baseline_prediction)[0])
        return cls(**arrays, roots=np.asarray(roots, dtype=np.int32), baseline=baseline)

    def decision(self, rows: np.ndarray) -> np.ndarray:
        """The raw score (log-odds) of each row."""
        rows = np.asarray(rows, dtype=np.float64)
        total = np.full(len(rows), self.baseline)
        index = np.arange(len(rows))
        for root in self.roots:
            node = np.full(len(rows), root, dtype=np.int32)
            active = ~self.leaf[node]
            while active.any():
                at = node[active]
                values = rows[index[active], self.feature[at]]
                go_left = np.where(
                    np.isnan(values), self.missing_left[at], values <= self.threshold[at]
                )
                node[active] = np.where(go_left, self.left[at], self.right[at])
                active = ~self.leaf[node]
            total += self.value[node]
        return total

    def probability(self, rows: np.ndarray) -> np.ndarray:
        # Clipped: past +-50 log-odds the probability is 0 or 1 in doubles anyway.
        return 1.0 / (1.0 + np.exp(-np.clip(self.decision(rows), -50.0, 50.0)))

    def arrays(self) -> dict[str, np.ndarray]:
        saved = {name: getattr(self, name) for name in FIELDS}
        return saved | {"roots": self.roots, "baseline": np.asarray([self.baseline])}

    @classmethod
    def from_arrays(cls, saved: Any, prefix: str = "") -> Forest:
        fields = {name: np.asarray(saved[prefix + name]) for name in (*FIELDS, "roots")}
        return cls(**fields, baseline=float(saved[prefix + "baseline"][0]))
