"""The learned answer scorer: logistic regression over sentence features, weights loaded as data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.answer.features import FEATURES

WEIGHTS_FILE = Path(__file__).with_name("scorer_weights.json")
RULES_THRESHOLD = 0.37  # the hand-weighted scorer's threshold (chosen on the seed set)


@dataclass(frozen=True)
class AnswerScorer:
    """P(sentence states the answer) = sigmoid(((x - mean) / scale) . coef + intercept)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float  # below this best-candidate probability the answer is a refusal

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> AnswerScorer:
        """Read a weights file; its feature names must be the ones this code computes."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        features = tuple(data["features"])
        if features != FEATURES:
            raise ValueError(
                f"{path}: trained on features {features} but the code computes {FEATURES}; "
                "retrain with `python -m eval.train_scorer`"
            )
        return cls(
            features=features,
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=float(data["intercept"]),
            threshold=float(data["refusal_threshold"]),
        )

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """One probability in [0, 1] per feature row."""
        if not len(rows):
            return np.zeros(0)
        logits = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -40.0, 40.0)))
