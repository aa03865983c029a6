"""A small, explainable linear scorer: standardised features, logistic link, reason codes.

Every score can be taken apart: a feature's contribution is its coefficient times its
standardised value, and the largest positive contributions are the reasons an analyst reads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Feature:
    name: str            # column name in the feature table
    reason: str          # reason code shown when this feature drives a score up
    description: str     # one line an analyst can read
    notable: float | None = None   # value from which the feature counts as a reason (tree models)


@dataclass
class LinearModel:
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    metadata: dict = field(default_factory=dict)

    def _z(self, x: np.ndarray) -> np.ndarray:
        x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0)
        return (x - np.asarray(self.mean)) / np.asarray(self.scale)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        return self._z(x) * np.asarray(self.coef)

    def score(self, x: np.ndarray) -> np.ndarray:
        logit = self.contributions(x).sum(axis=1) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -40, 40)))

    def reasons(self, x: np.ndarray, catalogue: dict[str, Feature], top: int = 3,
                min_contribution: float = 0.25) -> list[str]:
        """';'-joined reason codes of the largest positive contributions, strongest first."""
        contrib = self.contributions(x)
        order = np.argsort(-contrib, axis=1)[:, :top]
        out = []
        for row, idx in zip(contrib, order):
            codes = [catalogue[self.features[i]].reason for i in idx if row[i] >= min_contribution]
            out.append(";".join(dict.fromkeys(codes)))
        return out

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> "LinearModel":
        return cls(**json.loads(Path(path).read_text()))


class TreeModel:
    """Gradient-boosted trees (scikit-learn) for the exchange score, where interactions matter.

    Trees give no per-row contributions, so reasons are the notable features of a row (value at
    or above their `notable` threshold), ordered by the permutation importance measured when
    the model was fit. The pickled estimator is tied to the pinned scikit-learn version.
    """

    def __init__(self, estimator, features: list[str], importance: list[float], metadata: dict | None = None):
        self.estimator, self.features, self.importance = estimator, features, importance
        self.metadata = metadata or {}

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.estimator.predict_proba(np.nan_to_num(np.asarray(x, dtype=np.float64)))[:, 1]

    def reasons(self, x: np.ndarray, catalogue: dict[str, Feature], top: int = 3) -> list[str]:
        order = np.argsort(-np.asarray(self.importance))
        ranked = [(i, catalogue[self.features[i]]) for i in order if catalogue[self.features[i]].notable is not None]
        if not ranked:
            return [""] * len(x)
        hits = np.column_stack([x[:, i] >= f.notable for i, f in ranked])
        codes = [f.reason for _, f in ranked]
        # The text depends only on which notable features a row hits: build it once per distinct
        # pattern, found by packing each row's hits into bytes.
        packed = np.packbits(hits, axis=1)
        _, first, inverse = np.unique(packed.view(f"V{packed.shape[1]}").ravel(), return_index=True,
                                      return_inverse=True)
        texts = [";".join(dict.fromkeys(codes[j] for j in np.flatnonzero(row)[:top])) for row in hits[first]]
        return np.array(texts, dtype=object)[inverse].tolist()

    def save(self, path: str | Path) -> None:
        import joblib

        joblib.dump({"estimator": self.estimator, "features": self.features, "importance": self.importance,
                     "metadata": self.metadata}, path, compress=3)

    @classmethod
    def load(cls, path: str | Path) -> "TreeModel":
        import joblib

        return cls(**joblib.load(path))
