"""Evidence features of each candidate sentence, the inputs of the learned answer scorer."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from rag.answer.extractive import Candidate, coverage, term_weights
from rag.answer.facts import NUMBER, SentenceFacts, phrases, sentence_facts, terms_in_chunk
from rag.answer.question_type import AnswerType, answer_type, holds_answer_type
from rag.answer.reading import sentence_terms
from rag.lexical import tokenize
from rag.retrieval import lexical_index
from rag.snapshot import Snapshot, StoredChunk

KINDS: tuple[AnswerType, ...] = ("person", "date", "number", "location", "definition", "reason")
RAREST_TERMS = 2
FEATURES: tuple[str, ...] = (
    "dense",
    "dense_gap",
    "chunk_dense",
    "coverage",
    "coverage_gap",
    "rare_coverage",
    "restates",
    "novel_terms",
    "typed",
    "new_name",
    "new_number",
    "causal_for_reason",
    "log_position",
    "first_sentence",
    "neighbour_coverage",
    "neighbour_dense",
    "title_coverage",
    "log_length",
    "is_question",
    *(f"kind_{kind}" for kind in KINDS),
    *(f"typed_{kind}" for kind in KINDS[:4]),
    "dense_x_coverage",
    "phrase_match",
)


@dataclass
class Question:
    """What the features need to know about the question, computed once."""

    kind: AnswerType
    text: str
    weights: dict[str, float]
    rarest: list[str]
    terms: frozenset[str]
    phrases: frozenset[tuple[str, str]]


def analyse_question(question: str, context: str, snapshot: Snapshot) -> Question:
    """Term weights over the terms the archive holds: a term no chunk holds gets the highest
    IDF, which in a one-article folder is most of the question's weight, so every sentence's
    coverage (and the rarest terms) would shrink with the folder's size, not with its evidence."""
    lexical = lexical_index(snapshot)
    asked = term_weights(question, context, lexical)
    weights = {t: w for t, w in asked.items() if lexical.doc_freq(t)}
    own = [t for t in dict.fromkeys(tokenize(question)) if t in weights]
    rarest = sorted(own, key=lambda t: -weights[t])[:RAREST_TERMS]
    return Question(
        kind=answer_type(question),
        text=question,
        weights=weights,
        rarest=rarest,
        terms=frozenset(asked),
        phrases=phrases(question),
    )


def _section_terms(chunk: StoredChunk) -> frozenset[str]:
    if "section_terms" not in chunk.derived:
        chunk.derived["section_terms"] = frozenset(tokenize(str(chunk.meta.get("section", ""))))
    terms: frozenset[str] = chunk.derived["section_terms"]
    return terms


def _chunk_vector(chunk: StoredChunk) -> np.ndarray:
    """The normalised mean of a chunk's sentence vectors (kept with the chunk)."""
    if "vector" not in chunk.derived:
        vectors = [s.vector for s in chunk.sentences]
        mean = np.mean(vectors, axis=0) if vectors else np.zeros(1)
        norm = float(np.linalg.norm(mean))
        chunk.derived["vector"] = mean / norm if norm else mean
    vector: np.ndarray = chunk.derived["vector"]
    return vector


def _neighbour_chunks(snapshot: Snapshot, chunk_ids: list[str]) -> list[str]:
    """The chunks before and after each chunk in its article (their sentences are neighbours)."""
    table = snapshot.search
    found: list[str] = []
    for chunk_id in chunk_ids:
        row = table.row(chunk_id)
        if row is None:
            continue
        rows = table.rows_of_source(table.source(row))
        at = rows.index(row)
        found += [table.chunk_id(r) for r in rows[max(at - 1, 0) : at + 2]]
    return found


def candidate_features(
    q: Question, query_vector: np.ndarray, pool: list[str], snapshot: Snapshot
) -> tuple[list[Candidate], np.ndarray]:
    """Every sentence of the pool's chunks (deduplicated) and its feature row."""
    q_names = {w.lower() for w in re.findall(r"[A-Z][\w’'-]+", q.text)}
    q_numbers = set(NUMBER.findall(q.text))
    candidates: list[Candidate] = []
    meta_rows: list[tuple[SentenceFacts, int, frozenset[str]]] = []
    neighbours: dict[str, tuple[str | None, str | None]] = {}
    seen: set[tuple[str, int]] = set()
    stored = {c.id: c for c in snapshot.fetch(pool + _neighbour_chunks(snapshot, pool))}

    def terms_of(sentence_id: str) -> frozenset[str]:
        chunk_id, index = sentence_id.rsplit(":", 1)
        chunk = stored.get(chunk_id)
        if chunk is None:
            return sentence_terms(snapshot, sentence_id)
        return terms_in_chunk(chunk, chunk.sentences[int(index)])

    for chunk_id in pool:
        chunk = stored.get(chunk_id)
        if chunk is None:
            continue
        section = _section_terms(chunk)
        chunk_dense = float(_chunk_vector(chunk) @ query_vector)
        source = str(chunk.meta.get("source", ""))
        around = snapshot.chunk_neighbours(chunk.id, source, len(chunk.sentences))
        for sentence in chunk.sentences:
            key = (sentence.source, sentence.start)
            if key in seen:
                continue
            seen.add(key)
            prev, following, position = around[sentence.index]
            neighbours[sentence.id] = (prev, following)
            inherited = section | (terms_of(prev) if prev else frozenset())
            facts = sentence_facts(chunk, sentence)  # first: worked out, it gives the terms too
            terms = terms_in_chunk(chunk, sentence)
            known = facts.typed.get(q.kind)
            candidate = Candidate.of(sentence, query_vector, chunk_dense)
            candidate.coverage = coverage(terms, inherited, q.weights)
            candidate.typed = (
                holds_answer_type(sentence.text, q.kind, q.text) if known is None else known
            )
            candidates.append(candidate)
            meta_rows.append((facts, position, terms))
    if not candidates:
        return [], np.zeros((0, len(FEATURES)), dtype=np.float32)
    best_dense = max(c.dense for c in candidates)
    best_coverage = max(c.coverage for c in candidates)
    by_id = {c.sentence.id: c for c in candidates}
    titles: dict[str, float] = {}
    rows = np.zeros((len(candidates), len(FEATURES)), dtype=np.float32)
    for i, (candidate, (facts, position, terms)) in enumerate(
        zip(candidates, meta_rows, strict=True)
    ):
        if candidate.source not in titles:
            title = str(snapshot.documents[candidate.source].get("title", ""))
            titles[candidate.source] = coverage(frozenset(tokenize(title)), frozenset(), q.weights)
        beside = [by_id[n] for n in neighbours[candidate.sentence.id] if n in by_id]
        new_name = any(not name <= q_names for name in facts.names)
        new_number = bool(facts.numbers - q_numbers)
        own = set(terms)
        restates = len(own & q.terms) / len(own) if own else 1.0
        kind_flags = [float(q.kind == kind) for kind in KINDS]
        typed = float(candidate.typed)
        values = [
            candidate.dense,
            candidate.dense - best_dense,
            candidate.chunk_dense,
            candidate.coverage,
            candidate.coverage - best_coverage,
            sum(t in terms for t in q.rarest) / len(q.rarest) if q.rarest else 0.0,
            restates,
            math.log1p(len(own - q.terms)),
            typed,
            float(new_name),
            float(new_number),
            float(q.kind == "reason" and facts.causal),
            math.log1p(position),
            float(position == 0),
            max((n.coverage for n in beside), default=0.0),
            max((n.dense for n in beside), default=0.0),
            titles[candidate.source],
            math.log(max(facts.length, 10)),
            float(facts.is_question),
            *kind_flags,
            *(typed * flag for flag in kind_flags[:4]),
            candidate.dense * candidate.coverage,
            len(q.phrases & facts.phrases) / len(q.phrases) if q.phrases else 0.0,
        ]
        rows[i] = values
    return candidates, rows
