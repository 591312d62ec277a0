"""The learned answer scorer: logistic regression over sentence features, weights loaded as data."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from rag.answer.features import FEATURES

# What the refusal model reads: how far the best sentence leads the runner-up, and absolute
# evidence of the best sentence that means the same in a one-article folder as in a large
# archive (not the raw score, whose scale moves with the folder; chosen by AUC on 2023).
CALIBRATION_INPUTS = ("margin", "dense", "coverage", "chunk_dense")

WEIGHTS_FILE = Path(__file__).with_name("scorer_weights.json")
# The hand-weighted scorer's refusal threshold follows the index's size: the best of more passages
# scores higher whatever the question, so a threshold that refuses well in one article answers
# too much in an archive. Two anchors, (chunks, threshold), and the log of the chunk count between
# them; outside them the nearer one holds (nothing was measured there):
# - one article: the seed article's 15 chunks and 0.37, the value chosen on its question set
#   before archives were measured (kept, not re-tuned);
# - an archive: RealTime QA 2023's 18,350 chunks and the highest threshold that keeps its false
#   refusals at 0.10 (`python -m rag.evaluation.refusal_threshold`, 0.47572, rounded down).
RULES_THRESHOLD_ONE_ARTICLE = (15, 0.37)
RULES_THRESHOLD_ARCHIVE = (18_350, 0.4757)


RefusalGate = Literal["rules", "learned"]
UNSEEN_SCALE = 1e-5  # a feature's standard deviation in training at or under this: constant


def rules_threshold(chunks: int) -> float:
    """The rules' refusal threshold for an index of `chunks` chunks."""
    (few, low), (many, high) = RULES_THRESHOLD_ONE_ARTICLE, RULES_THRESHOLD_ARCHIVE
    at = min(max(chunks, few), many)
    return low + (high - low) * math.log(at / few) / math.log(many / few)


@dataclass(frozen=True)
class AnswerScorer:
    """Score = ((x - mean) / scale) . coef ranks a question's sentences (a conditional logit);
    confidence = sigmoid(calibration . CALIBRATION_INPUTS of the best sentence + intercept),
    the probability that the archive answers the question."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    calibration: np.ndarray
    intercept: float
    threshold: float  # below this confidence the answer is a refusal

    @property
    def unseen_kinds(self) -> frozenset[str]:
        """Question kinds the training set had none of (their flag never varied): the weights
        say nothing about how to rank sentences for them."""
        return frozenset(
            name.removeprefix("kind_")
            for name, scale in zip(self.features, self.scale, strict=True)
            if name.startswith("kind_") and scale <= UNSEEN_SCALE
        )

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> AnswerScorer:
        """Read a weights file; its feature names must be the ones this code computes."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        features = tuple(data["features"])
        if features != FEATURES or tuple(data["calibration"]["inputs"]) != CALIBRATION_INPUTS:
            raise ValueError(
                f"{path}: trained on features {features} but the code computes {FEATURES}; "
                "retrain with `python -m rag.evaluation.train_scorer`"
            )
        return cls(
            features=features,
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            coef=np.asarray(data["coef"], dtype=np.float64),
            calibration=np.asarray(data["calibration"]["coef"], dtype=np.float64),
            intercept=float(data["calibration"]["intercept"]),
            threshold=float(data["refusal_threshold"]),
        )

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """One ranking score per feature row (comparable within a question)."""
        if not len(rows):
            return np.zeros(0)
        return ((rows - self.mean) / self.scale) @ self.coef

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Each candidate's share of the question's answer probability (softmax), in [0, 1]."""
        if not len(scores):
            return np.zeros(0)
        e = np.exp(scores - scores.max())
        return e / e.sum()

    def confidence(self, scores: np.ndarray, rows: np.ndarray) -> float:
        """Calibrated probability, in [0, 1], that the archive answers the question."""
        if not len(scores):
            return 0.0
        logit = float(self.calibration @ calibration_inputs(scores, rows) + self.intercept)
        return 1.0 / (1.0 + float(np.exp(-np.clip(logit, -40.0, 40.0))))


def calibration_inputs(scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """CALIBRATION_INPUTS of one question's candidates (scores and feature rows)."""
    best = int(np.argmax(scores))
    ranked = np.sort(scores)[::-1]
    margin = ranked[0] - ranked[1] if len(ranked) > 1 else 0.0
    evidence = [float(rows[best][FEATURES.index(name)]) for name in CALIBRATION_INPUTS[1:]]
    return np.asarray([margin, *evidence])
