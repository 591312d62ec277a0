"""Ask every question through the chat's own chain and score the answers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.answer.followup import contextual_query, normalize_history
from rag.app import Pipeline
from rag.errors import BadInputError, NoDocumentsError
from rag.models import Answer, RetrievedChunk

from . import metrics
from .dataset import QuestionSetError
from .gold import Gold, resolve_gold
from .question import Question
from .scoring import MRR_DEPTH, score_question
from .summary import aggregate, counts

log = logging.getLogger(__name__)


def run_questions(
    pipeline: Pipeline,
    questions: Sequence[Question],
    k: int | None = None,
    on_answer: Callable[[Question], None] | None = None,
    questions_path: Path | None = None,
) -> dict[str, Any]:
    """Answer and score every question; return the report: metrics, config and per_question."""
    started, clock = datetime.now(UTC), time.perf_counter()
    k = k or pipeline.settings.top_k
    snapshot = pipeline.store.snapshot()
    if snapshot is None or not snapshot.documents:
        raise NoDocumentsError("the index is empty: nothing to evaluate against")
    documents = sorted(snapshot.documents)
    golds = [resolve_gold(q, documents, snapshot.document_text) for q in questions]

    def text_of(source: str) -> str | None:
        return snapshot.document_text(source) if source in snapshot.documents else None

    records = []
    for question, gold in zip(questions, golds, strict=True):
        records.append(answer_one(pipeline, question, gold, k, text_of))
        if on_answer is not None:
            on_answer(question)
    add_semantic_similarity(pipeline, questions, records)
    settings, chain = pipeline.settings, pipeline.chain
    config = {
        "questions": str(questions_path) if questions_path else None,
        "question_count": len(questions),
        "answerable": sum(q.answerable and not q.needs_reference for q in questions),
        "needs_reference": sum(q.needs_reference for q in questions),
        "unanswerable": sum(not q.answerable for q in questions),
        "follow_ups": sum(bool(q.history) for q in questions),
        "k": k,
        "mrr_depth": MRR_DEPTH,
        "docs_dir": str(settings.docs_dir),
        "index_dir": str(settings.index_dir),
        "documents": len(snapshot.documents),
        "chunks": snapshot.size,
        "embedding_model": settings.embedding_model,
        "embedding_backend": getattr(settings, "embedding_backend", None),
        "answerer": getattr(settings, "llm", "extractive"),
        # As the answers were given (without the learned scorer, the rules refuse whatever
        # RAG_REFUSAL_GATE says), and the threshold used: set, the gate's own, or the rules' for
        # this size.
        "answer_scorer": "learned" if chain.scorer is not None else "rules",
        "refusal_gate": chain.refusal_gate if chain.scorer is not None else "rules",
        "refusal_threshold": round(chain.threshold_for(snapshot), 4),
        "chunk_chars": settings.chunk_chars,
        "max_answer_sentences": settings.max_answer_sentences,
        "metric_counts": counts(records),
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - clock, 2),
    }
    return {"metrics": aggregate(records), "config": config, "per_question": records}


def answer_one(
    pipeline: Pipeline, question: Question, gold: Gold, k: int, text_of: Callable[[str], str | None]
) -> dict[str, Any]:
    """Ask one question (with its history) and build its per-question record."""
    started = time.perf_counter()
    try:
        answer: Answer = pipeline.chain.invoke(
            {"question": question.question, "history": question.history, "k": k}
        )
    except BadInputError as err:
        raise QuestionSetError(f"{question.origin}, field 'question': {err}") from err
    latency_ms = (time.perf_counter() - started) * 1000
    ranked = ranking(pipeline, answer, question, k)
    scores, failures, details = score_question(question, answer, ranked, gold, k, text_of)
    # With a language model: was its (checked) answer kept, or did it fall back to extractive?
    scores["llm_kept"] = None if not answer.llm else float("fallback" not in answer.llm)
    dumped = answer.model_dump(mode="json")
    return {
        "id": question.id,
        "question": question.question,
        "history": question.history,
        "answerable": question.answerable,
        "needs_reference": question.needs_reference,
        "answer": answer.answer,
        "refused": answer.refused,
        "citations": dumped["citations"],
        "related": dumped["related"],
        "retrieved": dumped["retrieved"],
        "notice": answer.notice,
        "llm": answer.llm,
        "latency_ms": round(latency_ms, 2),
        "expected": question.expected(),
        "gold_spans": [vars(span) for span in gold.spans],
        "first_relevant_rank": details["first_relevant_rank"],
        "missing": details["missing"],
        "scores": {name: None if v is None else round(v, 4) for name, v in scores.items()},
        "failures": failures,
        "passed": not failures,
    }


def ranking(pipeline: Pipeline, answer: Answer, question: Question, k: int) -> list[RetrievedChunk]:
    """The retrieval ranking to depth max(k, 10) for mrr@10; its top k are the answer's chunks.

    Re-runs the retriever with the chain's own follow-up query. Should the two disagree (the
    chain changed how it queries), the answer's k chunks are used instead.
    """
    if k >= MRR_DEPTH:
        return list(answer.retrieved)
    query, _ = contextual_query(answer.question, normalize_history(question.history))
    deep = pipeline.retriever.retrieve(query, k=MRR_DEPTH).documents
    ranked = [
        RetrievedChunk(
            chunk_id=d.metadata["chunk_id"],
            source=d.metadata["source"],
            start=d.metadata["start"],
            end=d.metadata["end"],
            score=float(d.metadata["score"]),
        )
        for d in deep
    ]
    if [c.chunk_id for c in ranked[: len(answer.retrieved)]] != [
        c.chunk_id for c in answer.retrieved
    ]:
        log.warning(
            "%s: deeper retrieval disagrees with the answer's chunks; mrr@10 uses top %s",
            question.id,
            k,
        )
        return list(answer.retrieved)
    return ranked


def add_semantic_similarity(
    pipeline: Pipeline, questions: Sequence[Question], records: list[dict[str, Any]]
) -> None:
    """Cosine of answer and reference embeddings (same model as retrieval); 0 for a refusal."""
    pairs = [
        (record, metrics.strip_markers(record["answer"]), question.reference)
        for question, record in zip(questions, records, strict=True)
        if question.answerable and question.reference
    ]
    to_embed = [(r, a, ref) for r, a, ref in pairs if not r["refused"] and a]
    for record, _, _ in pairs:
        record["scores"]["semantic_similarity"] = 0.0
    if not to_embed:
        return
    vectors = pipeline.store.embeddings.encode([t for _, a, ref in to_embed for t in (a, ref)])
    for i, (record, _, _) in enumerate(to_embed):
        record["scores"]["semantic_similarity"] = round(
            metrics.cosine(vectors[2 * i], vectors[2 * i + 1]), 4
        )
