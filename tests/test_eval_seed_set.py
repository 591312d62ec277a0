"""The project's own question set on the seed article, and the CI gate that runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.evaluation.dataset import load_questions
from tests.conftest import ROOT, SEEDS
from tests.eval_gates import run_gated_eval

SEED_SET = ROOT / "eval" / "seed_article.jsonl"
SEED_NAME = "us-officials-withdraw-from-london-ceasefire-talks.txt"
# Measured with `rag eval eval/seed_article.jsonl` (README "Evaluation"); each gate sits 0.03-0.05
# under the measured value, about one or two questions, so a real regression fails CI.
GATES = {
    "--min": {
        "hit@1": 0.48,  # measured 0.525
        "hit@3": 0.86,  # 0.900
        "hit@k": 0.93,  # 0.975
        "mrr@10": 0.69,  # 0.729
        "context_recall": 0.92,  # 0.963
        "must_include": 0.82,  # 0.863 (0.812 with the rules ranking)
        # The learned ranking (the default) quotes ~2.5 sentences where the rules quoted ~1.5:
        # more answers hold the gold answer, fewer of the words and quotes are the gold's.
        "token_f1": 0.26,  # 0.294 (0.422 with the rules ranking)
        "semantic_similarity": 0.52,  # 0.552 (0.594)
        "citation_validity": 1.0,  # an invariant: every quote is its source slice
        "citation_support": 0.43,  # 0.473 (0.698)
        "refusal_accuracy": 0.72,  # 0.769
    },
    # false refusals measured 0.075; latency is noisy on a shared 2-core machine (p50 measured
    # 4 ms), so its bound only catches gross slowdowns
    "--max": {"false_refusal_rate": 0.12, "latency_p50_ms": 2000},
}


def test_every_gold_passage_occurs_verbatim_in_the_seed() -> None:
    seed = (SEEDS / SEED_NAME).read_text(encoding="utf-8")
    questions = load_questions(SEED_SET)
    passages = [(q.id, p) for q in questions for p in q.reference_contexts]
    assert len(passages) >= 40
    assert [(qid, p) for qid, p in passages if p not in seed] == []
    assert {s for q in questions for s in q.reference_sources} == {SEED_NAME}


def test_the_seed_set_covers_what_the_issue_asks_for() -> None:
    questions = load_questions(SEED_SET)
    unanswerable = [q for q in questions if not q.answerable]
    follow_ups = [q for q in questions if q.history]
    assert len(questions) >= 40 and len(unanswerable) >= 8 and len(follow_ups) >= 5
    answerable = [q for q in questions if q.answerable]
    assert all(q.reference_contexts and q.must_include for q in answerable)
    assert all(not q.reference_contexts for q in unanswerable)


@pytest.mark.slow
def test_seed_set_meets_its_gates(tmp_path: Path) -> None:
    """`rag eval` as CI runs it: a regression below a gate makes this fail."""
    shutil.copytree(SEEDS, tmp_path / "docs")
    result = run_gated_eval(SEED_SET, tmp_path / "docs", tmp_path, GATES)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["question_count"] == len(load_questions(SEED_SET))
    assert all(gate["passed"] for gate in report["gates"]) and len(report["gates"]) == 13
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "ragas.jsonl",
        "report.html",
        "report.json",
        "report.md",
    ]
