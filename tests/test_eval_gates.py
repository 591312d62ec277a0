"""Gates (`--min`/`--max METRIC=VALUE`) and comparison with an earlier report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import BadInputError
from rag.evaluation.gates import Gate, compare, failed_gates, load_previous, parse_gate


def test_parse_gates() -> None:
    assert parse_gate("hit@3=0.9", "min") == Gate("hit@3", "min", 0.9)
    assert parse_gate(" latency_p95_ms = 250 ", "max") == Gate("latency_p95_ms", "max", 250.0)


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("hit@3", "min", "expected METRIC=VALUE"),
        ("=0.5", "min", "expected METRIC=VALUE"),
        ("hit@4=0.5", "min", "unknown metric 'hit@4'"),
        ("hit@3=high", "min", "'high' is not a number"),
        ("false_refusal_rate=0.1", "min", "lower is better for false_refusal_rate; use --max"),
        ("must_include=0.9", "max", "higher is better for must_include; use --min"),
    ],
)
def test_bad_gates(text: str, kind: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        parse_gate(text, kind)


def test_gates_pass_and_fail() -> None:
    metrics = {"hit@3": 0.9, "false_refusal_rate": 0.1, "token_f1": None}
    assert (
        failed_gates(metrics, [Gate("hit@3", "min", 0.9), Gate("false_refusal_rate", "max", 0.1)])
        == []
    )
    failed = failed_gates(
        metrics,
        [
            Gate("hit@3", "min", 0.91),
            Gate("false_refusal_rate", "max", 0.05),
            Gate("token_f1", "min", 0),
        ],
    )
    assert failed == [
        "hit@3 = 0.900 (needs >= 0.91)",
        "false_refusal_rate = 0.100 (needs <= 0.05)",
        "token_f1 = n/a (needs >= 0)",  # a metric with no value cannot pass
    ]


def test_compare_deltas_and_direction() -> None:
    rows = {
        r["metric"]: r
        for r in compare(
            {
                "hit@1": 0.6,
                "false_refusal_rate": 0.2,
                "latency_p50_ms": 10.0,
                "mrr@10": 0.5,
                "token_f1": None,
            },
            {
                "hit@1": 0.5,
                "false_refusal_rate": 0.1,
                "latency_p50_ms": 20.0,
                "mrr@10": 0.5,
                "token_f1": 0.3,
            },
        )
    }
    assert rows["hit@1"]["delta"] == pytest.approx(0.1) and rows["hit@1"]["verdict"] == "better"
    assert rows["false_refusal_rate"]["verdict"] == "worse"
    assert (
        rows["latency_p50_ms"]["delta"] == -10.0 and rows["latency_p50_ms"]["verdict"] == "better"
    )
    assert rows["mrr@10"]["verdict"] == "same"
    assert rows["token_f1"]["delta"] is None and rows["token_f1"]["verdict"] == "n/a"
    assert rows["context_recall"]["verdict"] == "n/a"  # absent from both


def test_load_previous(tmp_path: Path) -> None:
    good = tmp_path / "report.json"
    good.write_text(json.dumps({"metrics": {"hit@1": 0.5}, "config": {}, "per_question": []}))
    assert load_previous(good) == {"hit@1": 0.5}
    (tmp_path / "other.json").write_text("[1, 2]")
    with pytest.raises(BadInputError, match=r"not a report\.json"):
        load_previous(tmp_path / "other.json")
    with pytest.raises(BadInputError, match="--compare: cannot read"):
        load_previous(tmp_path / "missing.json")
