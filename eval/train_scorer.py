"""Train the answer scorer on one question set, choose its refusal threshold on another.

    python -m rag.evaluation.train_scorer fit --questions Q2022 --docs D2022 --index-dir I2022
    python -m rag.evaluation.train_scorer threshold --questions Q2023 --docs D2023 --index-dir I2023

`fit` labels every candidate sentence the chain would read (1: it contains a must_include answer
string, case-insensitive; withheld questions: all 0), fits a conditional logit that ranks each
question's candidates (L2 chosen by question-grouped cross-validation on the same set), fits the
refusal model P(the archive answers the question) by logistic regression on the cross-validated
scores (answerable: 1, withheld: 0), and writes it all with the data's sha256 and the command.
`threshold` sets the refusal threshold in that file: the highest confidence that keeps the
false-refusal rate of the answerable questions at or under the limit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.features import FEATURES, analyse_question, candidate_features
from rag.answer.reading import READ_CHUNKS, reading_pool
from rag.answer.scorer import CALIBRATION_INPUTS, WEIGHTS_FILE, AnswerScorer, calibration_inputs

from .dataset import Question, load_questions
from .metrics import normalize_text

log = logging.getLogger(__name__)

L2_GRID = (0.001, 0.01, 0.1)
FOLDS = 5
MAX_FALSE_REFUSALS = 0.10


@dataclass
class Table:
    """Feature rows of every candidate sentence, their labels and question index."""

    rows: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    answerable: np.ndarray  # per question


def open_pipeline(index_dir: Path, docs: Path) -> Any:
    from rag.app import build_pipeline
    from rag.settings import Settings

    return build_pipeline(Settings(index_dir=index_dir, docs_dir=docs, answer_scorer="rules"))


def build_table(pipeline: Any, questions: list[Question]) -> Table:
    """Candidates exactly as the chain reads them, labelled by the gold answer strings."""
    rows, labels, groups = [], [], []
    for index, question in enumerate(questions):
        retrieval = pipeline.retriever.retrieve(question.question, k=READ_CHUNKS)
        snapshot = retrieval.snapshot
        q = analyse_question(question.question, "", snapshot)
        pool = reading_pool(retrieval.documents, snapshot)
        candidates, features = candidate_features(q, retrieval.query_vector, pool, snapshot)
        answers = [normalize_text(a) for group in question.must_include for a in group]
        for candidate in candidates:
            text = snapshot.document_text(candidate.source)[candidate.start : candidate.end]
            sentence = normalize_text(text)
            labels.append(question.answerable and any(a in sentence for a in answers))
        rows.append(features)
        groups += [index] * len(candidates)
    return Table(
        rows=np.vstack(rows).astype(np.float64),
        labels=np.asarray(labels, dtype=np.int64),
        groups=np.asarray(groups),
        answerable=np.asarray([q.answerable for q in questions]),
    )


def top1_accuracy(probabilities: np.ndarray, table: Table, questions: np.ndarray) -> float:
    """Share of answerable questions whose most probable sentence contains the answer."""
    hits = []
    for q in questions:
        if not table.answerable[q]:
            continue
        mask = table.groups == q
        if mask.any():
            hits.append(table.labels[mask][int(np.argmax(probabilities[mask]))])
        else:
            hits.append(0)
    return float(np.mean(hits)) if hits else 0.0


def fit_listwise(table: Table, mask: np.ndarray, l2: float) -> tuple[np.ndarray, ...]:
    """(mean, scale, coef) of a conditional logit: softmax over each question's candidates,
    maximising the probability mass on its answer-bearing sentences."""
    from scipy.optimize import minimize

    rows, groups, labels = table.rows[mask], table.groups[mask], table.labels[mask]
    mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-6
    x = (rows - mean) / scale
    questions = [ix for g in np.unique(groups) if labels[ix := np.flatnonzero(groups == g)].any()]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * float(w @ w), 2 * l2 * w
        for ix in questions:
            e = np.exp((s := x[ix] @ w) - s.max())
            positive = labels[ix] == 1
            z, zp = e.sum(), e[positive].sum()
            total -= float(np.log(zp / z))
            grad = grad - (x[ix][positive].T @ e[positive]) / zp + (x[ix].T @ e) / z
        return total / len(questions), grad / len(questions)

    coef = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return mean, scale, coef


def refusal_inputs(scores: np.ndarray, table: Table) -> tuple[np.ndarray, np.ndarray]:
    """Per question with candidates: its calibration inputs and whether it is answerable.
    (The target is answerability, not "the best sentence holds the answer": a ranking miss on
    an answerable question is no reason to refuse it, and refusals are judged by answerability.)"""
    inputs, answerable = [], []
    for q in range(len(table.answerable)):
        mask = table.groups == q
        if not mask.any():
            continue
        inputs.append(calibration_inputs(scores[mask], table.rows[mask]))
        answerable.append(bool(table.answerable[q]))
    return np.asarray(inputs), np.asarray(answerable)


def fit(table: Table) -> tuple[tuple[np.ndarray, ...], Any, float, dict[str, float]]:
    """Ranking weights, the refusal model (fitted on cross-validated scores),
    the chosen L2 penalty and the cross-validated top-1 accuracy per penalty."""
    from sklearn.linear_model import LogisticRegression

    question_ids = np.arange(len(table.answerable))
    folds = [question_ids[question_ids % FOLDS == f] for f in range(FOLDS)]
    results: dict[str, float] = {}
    held_out_scores: dict[float, np.ndarray] = {}
    for l2 in L2_GRID:
        scores = np.zeros(len(table.labels))
        for held in folds:
            train = ~np.isin(table.groups, held)
            mean, scale, coef = fit_listwise(table, train, l2)
            scores[~train] = ((table.rows[~train] - mean) / scale) @ coef
        held_out_scores[l2] = scores
        results[str(l2)] = round(top1_accuracy(scores, table, question_ids), 4)
    best_l2 = max(L2_GRID, key=lambda l2: (results[str(l2)], l2))
    weights = fit_listwise(table, np.ones(len(table.labels), dtype=bool), best_l2)
    inputs, answerable = refusal_inputs(held_out_scores[best_l2], table)
    calibration = LogisticRegression(max_iter=1000).fit(inputs, answerable)
    return weights, calibration, best_l2, results


def sha256_of_data(questions: Path, docs: Path) -> dict[str, str]:
    """Hashes of the question file and of the documents folder (names and bytes, sorted)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in docs.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(docs)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return {
        "questions_sha256": hashlib.sha256(questions.read_bytes()).hexdigest(),
        "docs_sha256": digest.hexdigest(),
    }


def command_line() -> str:
    return "python -m rag.evaluation.train_scorer " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def run_fit(args: argparse.Namespace) -> None:
    questions = load_questions(args.questions)
    table = build_table(open_pipeline(args.index_dir, args.docs), questions)
    (mean, scale, coef), calibration, l2, cv = fit(table)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    weights = {
        "model": "conditional logit over each question's candidate sentences (scipy L-BFGS), "
        "standardised features; confidence = P(answerable), logistic regression on "
        "CALIBRATION_INPUTS of the best candidate under cross-validated scores",
        "features": list(FEATURES),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "coef": [round(float(v), 6) for v in coef],
        "calibration": {
            "inputs": list(CALIBRATION_INPUTS),
            "coef": [round(float(v), 6) for v in calibration.coef_[0]],
            "intercept": round(float(calibration.intercept_[0]), 6),
        },
        "refusal_threshold": previous.get("refusal_threshold", 0.5),
        "threshold_chosen": previous.get("threshold_chosen", {}),
        "training": {
            "command": command_line(),
            "questions": str(args.questions),
            "docs": str(args.docs),
            **sha256_of_data(args.questions, args.docs),
            "questions_count": len(questions),
            "answerable": int(table.answerable.sum()),
            "candidates": len(table.labels),
            "positives": int(table.labels.sum()),
            "l2": l2,
            "cv_top1_accuracy_by_l2": cv,
            "answerable_with_a_positive_candidate": round(
                float(
                    np.mean(
                        [
                            table.labels[table.groups == q].any()
                            for q in np.flatnonzero(table.answerable)
                        ]
                    )
                ),
                4,
            ),
        },
    }
    args.out.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(weights["training"], indent=1))


def best_probabilities(pipeline: Any, scorer: AnswerScorer, questions: list[Question]) -> list:
    """(answerable, best candidate probability, best candidate holds the answer) per question."""
    out = []
    for question in questions:
        retrieval = pipeline.retriever.retrieve(question.question, k=READ_CHUNKS)
        snapshot = retrieval.snapshot
        q = analyse_question(question.question, "", snapshot)
        pool = reading_pool(retrieval.documents, snapshot)
        candidates, features = candidate_features(q, retrieval.query_vector, pool, snapshot)
        scores = scorer.scores(features)
        best = int(np.argmax(scores)) if len(scores) else -1
        correct = False
        if best >= 0 and question.answerable:
            c = candidates[best]
            sentence = normalize_text(snapshot.document_text(c.source)[c.start : c.end])
            correct = any(normalize_text(a) in sentence for g in question.must_include for a in g)
        out.append((question.answerable, scorer.confidence(scores, features), correct))
    return out


def highest_threshold(
    found: list[tuple[bool, float]], max_false_refusals: float, ceiling: float = math.inf
) -> float:
    """The highest threshold under which at most `max_false_refusals` of the answerable questions
    fall (a refusal is score < threshold); `found` is (answerable, score) per question."""
    answerable = sorted(score for a, score in found if a)
    allowed = math.floor(max_false_refusals * len(answerable))
    # Refusing the `allowed` least scoring answerable questions: the threshold sits just above.
    return answerable[allowed] if allowed < len(answerable) else ceiling


def refusal_rates(found: list[tuple[bool, float]], threshold: float) -> dict[str, float | None]:
    """False-refusal rate and refusal accuracy at `threshold` (None where no question applies)."""

    def refused(scores: list[float]) -> float | None:
        return round(sum(s < threshold for s in scores) / len(scores), 4) if scores else None

    return {
        "false_refusal_rate": refused([score for a, score in found if a]),
        "refusal_accuracy": refused([score for a, score in found if not a]),
    }


def choose_threshold(results: list, max_false_refusals: float) -> dict[str, Any]:
    """Highest threshold whose false-refusal rate on the answerable questions stays in bounds."""
    found = [(a, p) for a, p, _ in results]
    threshold = highest_threshold(found, max_false_refusals, ceiling=1.0)
    return {
        "refusal_threshold": round(float(threshold), 6),
        "threshold_chosen": {
            "command": command_line(),
            "rule": f"highest threshold with false-refusal rate <= {max_false_refusals}",
            "answerable": sum(a for a, _ in found),
            "withheld": sum(not a for a, _ in found),
            **refusal_rates(found, threshold),
        },
    }


def run_threshold(args: argparse.Namespace) -> None:
    questions = load_questions(args.questions)
    scorer = AnswerScorer.load(args.out)
    results = best_probabilities(open_pipeline(args.index_dir, args.docs), scorer, questions)
    chosen = choose_threshold(results, args.max_false_refusals)
    weights = json.loads(args.out.read_text(encoding="utf-8"))
    weights.update(chosen)
    args.out.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(chosen, indent=1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rag.evaluation.train_scorer", description=__doc__
    )
    sub = parser.add_subparsers(dest="step", required=True)
    for name in ("fit", "threshold"):
        step = sub.add_parser(name)
        step.add_argument("--questions", type=Path, required=True)
        step.add_argument("--docs", type=Path, required=True)
        step.add_argument("--index-dir", type=Path, required=True)
        step.add_argument("--out", type=Path, default=WEIGHTS_FILE)
        if name == "threshold":
            step.add_argument("--max-false-refusals", type=float, default=MAX_FALSE_REFUSALS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    run_fit(args) if args.step == "fit" else run_threshold(args)


if __name__ == "__main__":
    main()
