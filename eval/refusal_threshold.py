"""How the rules' refusal threshold (`rules_threshold`, which follows the index's size) does on
question sets, against each set's own best threshold.

    python -m rag.evaluation.refusal_threshold \\
        --set SLICE/questions.jsonl SLICE/docs IDX_SLICE \\
        --set RTQA23/questions.jsonl RTQA23/docs IDX_2023

(SLICE = eval/realtimeqa-2023-slice, RTQA23 = ../shared/datasets/realtimeqa-2023.)

For each set: the evidence the rules give each question (the best qualifying sentence's score, as
the chain computes it), the highest threshold that keeps the false-refusal rate at or under
`--max-false-refusals` (RealTime QA 2023's is the archive anchor in `rag/answer/scorer.py`), and
the false-refusal rate and refusal accuracy at that threshold and at `rules_threshold`.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from rag.answer.chain import AnswerChain
from rag.answer.scorer import rules_threshold

from .dataset import load_questions
from .train_scorer import highest_threshold, open_pipeline, refusal_rates


def evidence(questions: Path, docs: Path, index_dir: Path) -> tuple[int, list[tuple[bool, float]]]:
    """(chunks in the index, (answerable, evidence) per question without history)."""
    pipeline = open_pipeline(index_dir, docs)
    never_refuses = AnswerChain(pipeline.retriever, refusal_threshold=-math.inf)
    snapshot = pipeline.store.require_snapshot()
    found = []
    for question in load_questions(questions):
        if question.history:
            continue  # a follow-up's evidence depends on the answer it follows
        retrieval = pipeline.retriever.retrieve(question.question)
        extraction = never_refuses._extract(question.question, "", retrieval)
        found.append((question.answerable, extraction.evidence))
    return snapshot.size, found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rag.evaluation.refusal_threshold")
    parser.add_argument("--set", nargs=3, action="append", required=True, metavar=("Q", "D", "I"))
    parser.add_argument("--max-false-refusals", type=float, default=0.10)
    args = parser.parse_args(argv)
    report: dict[str, Any] = {}
    for questions, docs, index_dir in args.set:
        chunks, found = evidence(Path(questions), Path(docs), Path(index_dir))
        own = highest_threshold(found, args.max_false_refusals)
        rule = rules_threshold(chunks)
        report[questions] = {
            "chunks": chunks,
            "own_threshold": round(own, 6),
            "at_own": refusal_rates(found, own),
            "rules_threshold": round(rule, 6),
            "at_rules": refusal_rates(found, rule),
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
