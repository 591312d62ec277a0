"""Extractive answers: pick the retrieved sentences that answer the question, cite each one."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
from langchain_core.documents import Document

from rag.answer.facts import asks, terms_in_chunk
from rag.answer.question_type import (
    AnswerType,
    answer_type,
    holds_answer_type,
    states_a_cause,
)
from rag.ingest.structure import BULLET
from rag.lexical import LexicalIndex, tokenize
from rag.models import Citation
from rag.retrieval import lexical_index
from rag.snapshot import Sentence, Snapshot

SENTENCE_WEIGHT = 0.45  # dense similarity of the sentence to the question
CHUNK_WEIGHT = 0.15  # dense similarity of the sentence's chunk: is this the right passage?
LEXICAL_WEIGHT = 0.40  # IDF-weighted share of the question's terms the sentence holds
CONTEXT_TERM_WEIGHT = 0.5  # terms borrowed from the conversation count half
INHERITED_TERM_WEIGHT = 0.5  # terms of the previous sentence / section heading ("His presence")
MAX_LIST_ITEMS = 6
REDUNDANT_SIMILARITY = 0.8
RELATIVE_CUTOFF = 0.85  # extra sentences must score this close to the best one
CAUSE_WEIGHT = 0.1  # a why-question's answer usually says "because", "followed", "citing"...
RELATED_PASSAGES = 3  # listed with a refusal
# A sentence this similar to the question (cosine, the embedding model's own scale) is about what
# was asked; below it, a refusal lists nothing ("a recipe for banana bread" in a news archive).
RELATED_MIN_DENSE = 0.3


@dataclass
class Candidate:
    """A sentence of a retrieved chunk with its evidence scores."""

    sentence: Sentence
    source: str
    start: int
    end: int
    chunk_id: str
    dense: float
    chunk_dense: float
    coverage: float
    typed: bool
    explains: bool = False  # states a cause, for a why-question

    @classmethod
    def of(cls, sentence: Sentence, query_vector: np.ndarray, chunk_dense: float) -> Candidate:
        """`sentence` with its dense scores; coverage and type checks are the caller's."""
        return cls(
            sentence=sentence,
            source=sentence.source,
            start=sentence.start,
            end=sentence.end,
            chunk_id=sentence.chunk_id,
            dense=float(sentence.vector @ query_vector),
            chunk_dense=chunk_dense,
            coverage=0.0,
            typed=False,
        )

    @property
    def score(self) -> float:
        return (
            SENTENCE_WEIGHT * self.dense
            + CHUNK_WEIGHT * self.chunk_dense
            + LEXICAL_WEIGHT * self.coverage
            + CAUSE_WEIGHT * self.explains
        )


@dataclass
class Extraction:
    """The chosen sentences (best first), or none when the evidence is too weak."""

    kind: AnswerType
    chosen: list[Candidate]
    evidence: float
    # With a refusal (nothing chosen): the passages nearest what was asked, which don't answer it.
    related: list[Candidate] = field(default_factory=list)


def term_weights(question: str, context: str, lexical: LexicalIndex) -> dict[str, float]:
    """IDF weight of each question term; terms only in the conversation context count less."""
    weights = {t: lexical.idf(t) for t in tokenize(context)}
    weights = {t: w * CONTEXT_TERM_WEIGHT for t, w in weights.items()}
    weights.update({t: lexical.idf(t) for t in tokenize(question)})
    return weights


def coverage(
    terms: Collection[str], inherited: Collection[str], weights: dict[str, float]
) -> float:
    """IDF-weighted share of the question's terms a sentence holds; its previous sentence's and
    section heading's terms count `INHERITED_TERM_WEIGHT` ("His presence" still matches Rubio)."""
    total = sum(weights.values())
    if not total:
        return 0.0
    covered = sum(
        w * (1.0 if t in terms else INHERITED_TERM_WEIGHT if t in inherited else 0.0)
        for t, w in weights.items()
    )
    return covered / total


def score_sentences(
    question: str,
    context: str,
    query_vector: np.ndarray,
    documents: list[Document],
    snapshot: Snapshot,
) -> tuple[AnswerType, list[Candidate]]:
    """Score every sentence of the retrieved chunks against the question, best first."""
    kind = answer_type(question)
    weights = term_weights(question, context, lexical_index(snapshot))
    seen: set[tuple[str, int]] = set()
    candidates: list[Candidate] = []
    for doc in documents:
        chunk_id = doc.metadata["chunk_id"]
        chunk_dense = float(doc.metadata.get("dense_score") or 0.0)
        section_terms = frozenset(tokenize(str(doc.metadata.get("section", ""))))
        inherited = section_terms
        chunk = snapshot.chunk(chunk_id)
        for sentence in chunk.sentences:
            text = sentence.text
            terms = terms_in_chunk(chunk, sentence)
            key = (sentence.source, sentence.start)
            if key not in seen:
                seen.add(key)
                candidate = Candidate.of(sentence, query_vector, chunk_dense)
                candidate.coverage = coverage(terms, inherited, weights)
                # A question in an article ("Which state raises the most turkeys?") matches the
                # user's question best and answers nothing.
                candidate.typed = not asks(text) and holds_answer_type(text, kind, question)
                candidate.explains = kind == "reason" and states_a_cause(text)
                candidates.append(candidate)
            inherited = terms | section_terms
    candidates.sort(key=lambda c: -c.score)
    return kind, candidates


def select_sentences(
    kind: AnswerType,
    candidates: list[Candidate],
    snapshot: Snapshot,
    threshold: float,
    max_sentences: int,
) -> Extraction:
    """Best type-matching sentence, plus close runners-up that add something new.

    A why-question is answered by sentences that state a cause whenever one is relevant enough
    to answer at all: a sentence about the event that gives no reason ("The pullout sparked a
    shift") can outscore the one that does, and it only restates what was asked about.
    """
    typed = [c for c in candidates if c.typed]
    causes = [c for c in typed if c.explains]
    if causes and causes[0].score >= threshold:
        typed = causes
    if not typed or typed[0].score < threshold:
        return Extraction(kind, [], typed[0].score if typed else 0.0, related(candidates))
    best = typed[0]
    chosen = [best, *list_items(best, candidates, snapshot)]
    runners_up = ((c, c.score) for c in typed[1:])
    add_runners_up(chosen, runners_up, best.score * RELATIVE_CUTOFF, snapshot, max_sentences)
    return Extraction(kind, chosen, best.score)


def add_runners_up(
    chosen: list[Candidate],
    runners_up: Iterable[tuple[Candidate, float]],
    floor: float,
    snapshot: Snapshot,
    max_sentences: int,
) -> None:
    """Append runners-up (best first) scoring at least `floor` that say something new."""
    for candidate, score in runners_up:
        if len(chosen) >= max_sentences or score < floor:
            break
        vector = candidate.sentence.vector
        if all(float(vector @ c.sentence.vector) < REDUNDANT_SIMILARITY for c in chosen):
            chosen.append(candidate)


def related(candidates: list[Candidate]) -> list[Candidate]:
    """What a refusal can point to: the best-ranked sentences (of `candidates`, best first) about
    what was asked, none a question itself nor a near-repeat of another, one per article."""
    chosen: list[Candidate] = []
    for candidate in candidates:
        if len(chosen) >= RELATED_PASSAGES:
            break
        if candidate.dense < RELATED_MIN_DENSE or asks(candidate.sentence.text):
            continue
        vector = candidate.sentence.vector
        similar = (float(vector @ c.sentence.vector) >= REDUNDANT_SIMILARITY for c in chosen)
        if any(c.source == candidate.source for c in chosen) or any(similar):
            continue
        chosen.append(candidate)
    return chosen


def list_items(
    intro: Candidate, candidates: list[Candidate], snapshot: Snapshot
) -> list[Candidate]:
    """The bullet items that follow a sentence introducing a list ("The deal aimed to:")."""
    text = snapshot.document_text(intro.source)
    if not text[intro.start : intro.end].rstrip().endswith(":"):
        return []
    following = sorted(
        (c for c in candidates if c.chunk_id == intro.chunk_id and c.start > intro.start),
        key=lambda c: c.start,
    )
    items: list[Candidate] = []
    for candidate in following[:MAX_LIST_ITEMS]:
        line_start = text.rfind("\n", 0, candidate.start) + 1
        if not BULLET.fullmatch(text[line_start : candidate.start]):
            break
        items.append(candidate)
    return items


def cite(chosen: list[Candidate], snapshot: Snapshot) -> tuple[str, list[Citation]]:
    """Answer text whose every sentence ends with [n], and the citations behind the numbers."""
    citations = [snapshot.citation(n, c.sentence) for n, c in enumerate(chosen, 1)]
    return " ".join(f"{' '.join(c.quote.split())} [{c.n}]" for c in citations), citations


def unsaid(candidates: list[Candidate], already_said: str) -> list[int]:
    """Indexes of the candidates whose sentence the answer being followed up did not quote
    (a follow-up asks for something new)."""
    said = " ".join(already_said.split())
    return [i for i, c in enumerate(candidates) if " ".join(c.sentence.text.split()) not in said]
