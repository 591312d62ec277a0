"""CI's gate on real news: 80 RealTime QA 2023 questions over 250 real articles (eval/...-slice)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluation.dataset import load_questions
from tests.conftest import ROOT
from tests.eval_gates import run_gated_eval

SLICE = ROOT / "eval" / "realtimeqa-2023-slice"
# Measured with `rag eval eval/realtimeqa-2023-slice/questions.jsonl --docs
# eval/realtimeqa-2023-slice/docs` (README "Evaluation"). Each gate sits one to three questions
# under the measured value: the int8 export can differ slightly between CPUs, a regression cannot.
GATES = {
    "--min": {
        "hit@1": 0.88,  # measured 0.933 (60 answerable questions)
        "hit@k": 0.95,  # 0.983
        "mrr@10": 0.91,  # 0.957
        # 0.617 with the learned scorer ranking (0.583 under the rules alone)
        "must_include": 0.58,
        "citation_validity": 1.0,  # an invariant: every quote is its source slice
        "refusal_accuracy": 0.50,  # 0.600 (20 withheld questions; 0.400 before)
    },
    # false refusals 0.117 (0.033 before); latency is noisy
    "--max": {"false_refusal_rate": 0.17, "latency_p50_ms": 2000},
}


def test_the_slice_holds_what_its_questions_need() -> None:
    questions = load_questions(SLICE / "questions.jsonl")
    docs = {p.name for p in (SLICE / "docs").glob("*.md")}
    assert len(docs) == 250
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) == 60 and len(questions) - len(answerable) == 20
    assert all(set(q.reference_sources) <= docs and q.must_include for q in answerable)


@pytest.mark.slow
def test_the_news_slice_meets_its_gates(tmp_path: Path) -> None:
    result = run_gated_eval(
        SLICE / "questions.jsonl", SLICE / "docs", tmp_path, GATES, timeout_s=1800
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["question_count"] == 80 and report["config"]["documents"] == 250
    assert all(gate["passed"] for gate in report["gates"]) and len(report["gates"]) == 8
