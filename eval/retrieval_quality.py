"""Retrieval quality for `rag bench`: hit@5 and MRR@10, hybrid (as served) and dense-only."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.app import Pipeline

DEPTH = 10


@dataclass
class Ranked:
    """A retrieved chunk's span, as the eval metrics read it."""

    source: str
    start: int
    end: int


def _ranked(metadatas: list[dict[str, Any]]) -> list[Ranked]:
    return [Ranked(m["source"], int(m["start"]), int(m["end"])) for m in metadatas]


def retrieval_quality(pipeline: Pipeline, questions_file: Path) -> dict[str, float]:
    """hit@5 and MRR@10 of the answerable questions with gold passages, both ways."""
    from .dataset import load_questions
    from .gold import resolve_gold
    from .metrics import first_relevant_rank, hit_at, reciprocal_rank

    snapshot = pipeline.store.require_snapshot()
    questions = [q for q in load_questions(questions_file) if q.answerable and q.reference_contexts]
    scores: dict[str, list[float]] = {"hit5": [], "mrr": [], "dense_hit5": [], "dense_mrr": []}
    for question in questions:
        gold = resolve_gold(question, snapshot.documents, snapshot.document_text)
        hybrid = pipeline.retriever.retrieve(question.question, k=DEPTH).documents
        vector = pipeline.store.embeddings.embed_query(question.question)
        dense = snapshot.chunks.similarity_search_by_vector_with_relevance_scores(vector, k=DEPTH)
        for prefix, metadatas in (
            ("", [d.metadata for d in hybrid]),
            ("dense_", [doc.metadata for doc, _ in dense]),
        ):
            rank = first_relevant_rank(_ranked(metadatas), gold)
            scores[f"{prefix}hit5"].append(hit_at(rank, 5))
            scores[f"{prefix}mrr"].append(reciprocal_rank(rank, DEPTH))
    result = {key: round(statistics.fmean(values), 4) for key, values in scores.items() if values}
    result["questions"] = len(questions)
    return result
