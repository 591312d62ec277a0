"""Score one answered question against its gold: per-question metrics and plain-words failures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rag.models import Answer

from . import metrics
from .gold import Gold
from .question import Question

MRR_DEPTH = 10


def score_question(
    question: Question,
    answer: Answer,
    ranked: Sequence[metrics.SpanLike],
    gold: Gold,
    k: int,
    text_of: Callable[[str], str | None],
) -> tuple[dict[str, float | None], list[str], dict[str, Any]]:
    """(scores, failures, details) for one question; None marks a metric that doesn't apply.

    `ranked` is the retrieval ranking to depth >= MRR_DEPTH; its first k are the answer's chunks.
    """
    scores: dict[str, float | None] = dict.fromkeys(
        [
            "hit@1",
            "hit@3",
            "hit@k",
            "mrr@10",
            "context_recall",
            "must_include",
            "token_f1",
            "semantic_similarity",
            "citation_validity",
            "citation_support",
            "refusal_accuracy",
            "false_refusal_rate",
        ]
    )
    failures: list[str] = []
    details: dict[str, Any] = {"first_relevant_rank": None, "missing": []}
    refused = answer.refused

    problems = metrics.citation_problems(answer.answer, answer.citations, text_of)
    problems += metrics.related_problems(answer.related, text_of)
    if answer.citations or answer.related or problems:
        quoted = len(answer.citations) + len(answer.related)
        scores["citation_validity"] = metrics.validity_of(problems, quoted)
        failures += problems

    if question.needs_reference:  # nothing to compare with yet: only the citations are checked
        return scores, failures, details

    if not question.answerable:
        scores["refusal_accuracy"] = 1.0 if refused else 0.0
        if not refused:
            failures.append("answered although the documents cannot answer this")
        return scores, failures, details

    scores["false_refusal_rate"] = 1.0 if refused else 0.0
    if refused:
        failures.append("refused an answerable question")
    if not gold.is_empty():
        rank = metrics.first_relevant_rank(ranked, gold)
        details["first_relevant_rank"] = rank
        scores["hit@1"] = metrics.hit_at(rank, 1)
        scores["hit@3"] = metrics.hit_at(rank, 3)
        scores["hit@k"] = metrics.hit_at(rank, k)
        scores["mrr@10"] = metrics.reciprocal_rank(rank, MRR_DEPTH)
        scores["context_recall"] = metrics.context_recall(ranked[:k], gold)
        if not scores["hit@k"]:
            failures.append(f"no relevant chunk in the top {k}")
        if answer.citations:
            scores["citation_support"] = metrics.citation_support(answer.citations, gold)
            if not scores["citation_support"]:
                failures.append("no citation overlaps the gold passages")
    if question.must_include:
        text = "" if refused else answer.answer
        scores["must_include"], details["missing"] = metrics.must_include(
            text, question.must_include
        )
        if details["missing"]:
            failures.append("answer lacks " + "; ".join(" | ".join(g) for g in details["missing"]))
    if question.reference:
        scores["token_f1"] = 0.0 if refused else metrics.token_f1(answer.answer, question.reference)
    return scores, failures, details
