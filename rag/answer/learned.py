"""Pick the answering sentences by the learned scorer's probability; refuse below its threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from langchain_core.documents import Document

from rag.answer.extractive import Candidate, Extraction, add_runners_up, list_items, related
from rag.answer.features import analyse_question, candidate_features
from rag.answer.question_type import AnswerType
from rag.answer.reading import READ_CHUNKS, reading_pool
from rag.answer.scorer import AnswerScorer
from rag.store import Snapshot

RELATIVE_CUTOFF = 0.1  # extra sentences need this share of the best one's (chosen on 2022)


@dataclass
class Scored:
    """Candidates best first, each one's share of the answer probability, and the confidence
    that the archive answers the question."""

    candidates: list[Candidate]
    probabilities: np.ndarray
    confidence: float

    def subset(self, keep: list[int]) -> Scored:
        """Only the candidates at `keep` (in order), with their probabilities."""
        return Scored([self.candidates[i] for i in keep], self.probabilities[keep], self.confidence)


def score_candidates(
    scorer: AnswerScorer,
    question: str,
    context: str,
    query_vector: np.ndarray,
    documents: list[Document],
    snapshot: Snapshot,
) -> tuple[AnswerType, Scored]:
    """Score every sentence of the reading pool; (answer type, candidates best first)."""
    q = analyse_question(question, context, snapshot)
    # Every chunk shown is read, also when k is above the pool the scorer was trained on.
    pool = reading_pool(documents, snapshot, read_chunks=max(READ_CHUNKS, len(documents)))
    candidates, rows = candidate_features(q, query_vector, pool, snapshot)
    scores = scorer.scores(rows)
    probabilities = scorer.probabilities(scores)
    order = np.argsort(-scores, kind="stable")
    return q.kind, Scored(
        [candidates[i] for i in order], probabilities[order], scorer.confidence(scores, rows)
    )


def select_by_probability(
    kind: AnswerType,
    scored: Scored,
    snapshot: Snapshot,
    threshold: float,
    max_sentences: int,
) -> Extraction:
    """The most probable sentence, plus probable runners-up that say something new."""
    if not scored.candidates or scored.confidence < threshold:
        return Extraction(kind, [], scored.confidence, related(scored.candidates))
    best = scored.candidates[0]
    top = float(scored.probabilities[0])
    chosen = [best, *list_items(best, scored.candidates, snapshot)]
    runners_up = zip(scored.candidates[1:], map(float, scored.probabilities[1:]), strict=True)
    add_runners_up(chosen, runners_up, top * RELATIVE_CUTOFF, snapshot, max_sentences)
    return Extraction(kind, chosen, scored.confidence)
