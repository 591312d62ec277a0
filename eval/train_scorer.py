"""Train the answer scorer on one question set, choose its refusal threshold on another.

    python -m eval.train_scorer fit --questions Q2022 --docs D2022 --index-dir I2022
    python -m eval.train_scorer threshold --questions Q2023 --docs D2023 --index-dir I2023

`fit` labels every candidate sentence the chain would read (1: it contains a must_include answer
string, case-insensitive; withheld questions: all 0), fits a logistic regression (C chosen by
question-grouped cross-validation on the same set) and writes the weights with the data's sha256
and the command. `threshold` sets the refusal threshold in that file: the highest best-candidate
probability that keeps the false-refusal rate of the answerable questions at or under the limit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.features import FEATURES, analyse_question, candidate_features
from rag.answer.reading import READ_CHUNKS, reading_pool
from rag.answer.scorer import WEIGHTS_FILE, AnswerScorer

from .dataset import Question, load_questions
from .metrics import normalize_text

log = logging.getLogger(__name__)

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
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


def fit(table: Table) -> tuple[Any, Any, float, dict[str, float]]:
    """(scaler, model, C, cross-validated top-1 accuracy per C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    question_ids = np.arange(len(table.answerable))
    folds = [question_ids[question_ids % FOLDS == f] for f in range(FOLDS)]
    scores: dict[str, float] = {}
    for c in C_GRID:
        probabilities = np.zeros(len(table.labels))
        for held in folds:
            train = ~np.isin(table.groups, held)
            scaler = StandardScaler().fit(table.rows[train])
            model = LogisticRegression(C=c, max_iter=2000)
            model.fit(scaler.transform(table.rows[train]), table.labels[train])
            test = ~train
            probabilities[test] = model.predict_proba(scaler.transform(table.rows[test]))[:, 1]
        scores[str(c)] = round(top1_accuracy(probabilities, table, question_ids), 4)
    best_c = max(C_GRID, key=lambda c: (scores[str(c)], -c))
    scaler = StandardScaler().fit(table.rows)
    model = LogisticRegression(C=best_c, max_iter=2000).fit(
        scaler.transform(table.rows), table.labels
    )
    return scaler, model, best_c, scores


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
    return "python -m eval.train_scorer " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def run_fit(args: argparse.Namespace) -> None:
    questions = load_questions(args.questions)
    table = build_table(open_pipeline(args.index_dir, args.docs), questions)
    scaler, model, c, cv = fit(table)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    weights = {
        "model": "logistic regression (scikit-learn), standardised features",
        "features": list(FEATURES),
        "mean": [round(float(v), 6) for v in scaler.mean_],
        "scale": [round(float(v), 6) for v in scaler.scale_],
        "coef": [round(float(v), 6) for v in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 6),
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
            "C": c,
            "cv_top1_accuracy_by_C": cv,
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
        probabilities = scorer.probabilities(features)
        best = int(np.argmax(probabilities)) if len(probabilities) else -1
        correct = False
        if best >= 0 and question.answerable:
            c = candidates[best]
            sentence = normalize_text(snapshot.document_text(c.source)[c.start : c.end])
            correct = any(normalize_text(a) in sentence for g in question.must_include for a in g)
        out.append((question.answerable, float(probabilities[best]) if best >= 0 else 0.0, correct))
    return out


def choose_threshold(results: list, max_false_refusals: float) -> dict[str, Any]:
    """Highest threshold whose false-refusal rate on the answerable questions stays in bounds."""
    answerable = sorted(p for a, p, _ in results if a)
    withheld = [p for a, p, _ in results if not a]
    allowed = int(np.floor(max_false_refusals * len(answerable)))
    # Refusing the `allowed` least probable answerable questions: the threshold sits just above.
    threshold = answerable[allowed] if allowed < len(answerable) else 1.0
    refused = sum(p < threshold for p in withheld)
    false_refusals = sum(p < threshold for p in answerable)
    return {
        "refusal_threshold": round(float(threshold), 6),
        "threshold_chosen": {
            "command": command_line(),
            "rule": f"highest threshold with false-refusal rate <= {max_false_refusals}",
            "answerable": len(answerable),
            "withheld": len(withheld),
            "false_refusal_rate": round(false_refusals / len(answerable), 4),
            "refusal_accuracy": round(refused / len(withheld), 4) if withheld else None,
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
    parser = argparse.ArgumentParser(prog="python -m eval.train_scorer", description=__doc__)
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
