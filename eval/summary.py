"""The metric catalogue and how per-question scores add up to run metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.stats import percentile


@dataclass(frozen=True)
class MetricInfo:
    """What a metric measures, which group it belongs to and which direction is better."""

    name: str
    group: str
    description: str
    higher_is_better: bool = True
    unit: str = ""


# In report order, each group's metrics together (the report prints a heading per group).
METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in [
        MetricInfo("hit@1", "retrieval", "a relevant chunk is ranked first"),
        MetricInfo("hit@3", "retrieval", "a relevant chunk is in the top 3"),
        MetricInfo(
            "hit@k",
            "retrieval",
            "a relevant chunk is in the top k (the chunks the answer is built from)",
        ),
        MetricInfo(
            "mrr@10", "retrieval", "mean of 1/rank of the first relevant chunk in the top 10"
        ),
        MetricInfo(
            "context_recall", "retrieval", "share of gold passage text inside the top-k chunks"
        ),
        MetricInfo("must_include", "answer", "share of required fact groups found in the answer"),
        MetricInfo("token_f1", "answer", "token overlap F1 between answer and reference"),
        MetricInfo(
            "semantic_similarity", "answer", "cosine similarity of answer and reference embeddings"
        ),
        MetricInfo(
            "llm_kept",
            "answer",
            "with RAG_LLM: share of model-written answers kept after citation checks "
            "(the rest fell back to the extractive answer)",
        ),
        MetricInfo(
            "citation_validity",
            "citations",
            "share of citations whose quote is exactly its source slice",
        ),
        MetricInfo(
            "citation_support", "citations", "share of citations that overlap a gold passage"
        ),
        MetricInfo(
            "refusal_accuracy", "refusals", "share of unanswerable questions that were refused"
        ),
        MetricInfo(
            "false_refusal_rate",
            "refusals",
            "share of answerable questions that were refused",
            higher_is_better=False,
        ),
        MetricInfo("latency_p50_ms", "latency", "median time to answer one question", False, "ms"),
        MetricInfo(
            "latency_p95_ms", "latency", "95th percentile time to answer one question", False, "ms"
        ),
    ]
}
RATIO_METRICS = [name for name, info in METRICS.items() if not info.unit]


def aggregate(per_question: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Run metrics: the mean of each per-question score where it applies; latency percentiles."""
    metrics: dict[str, float | None] = {}
    for name in RATIO_METRICS:
        values = [q["scores"][name] for q in per_question if q["scores"].get(name) is not None]
        metrics[name] = round(sum(values) / len(values), 4) if values else None
    latencies = [q["latency_ms"] for q in per_question]
    for name, q in (("latency_p50_ms", 50), ("latency_p95_ms", 95)):
        metrics[name] = round(percentile(latencies, q), 1) if latencies else None
    return metrics


def counts(per_question: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many questions each metric averages over (a metric over 3 questions means little)."""
    result = {
        name: sum(1 for q in per_question if q["scores"].get(name) is not None)
        for name in RATIO_METRICS
    }
    result["latency_p50_ms"] = result["latency_p95_ms"] = len(per_question)
    return result


def format_value(name: str, value: float | None) -> str:
    """A metric value as people read it."""
    if value is None:
        return "n/a"
    return f"{value:.0f} ms" if METRICS[name].unit == "ms" else f"{value:.3f}"


def review_order(per_question: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failures first (most problems first), then passes; file order otherwise."""
    return sorted(per_question, key=lambda q: (q["passed"], -len(q["failures"])))
