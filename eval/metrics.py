"""Deterministic per-question metrics: retrieval, answer content, citations (no LLM judge).

Every function here is pure; the README's "Evaluation" section defines each metric in words.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from .gold import Gold

COVER_FRACTION = 0.5  # a chunk "covers" a gold passage when it holds half of the shorter of the two
_MARKER = re.compile(r"\s*\[\d+\]")
_ARTICLES = {"a", "an", "the"}
_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


class SpanLike(Protocol):
    source: str
    start: int
    end: int


def strip_markers(answer: str) -> str:
    """The answer text without its citation markers ("… 2014. [1]" → "… 2014.")."""
    return _MARKER.sub("", answer).strip()


def is_relevant(chunk: SpanLike, gold: Gold) -> bool:
    """Relevant: covers a gold passage, or (when no passages are given) comes from a gold source."""
    if gold.passages:
        for span in gold.spans:
            shared = span.overlap(chunk.source, chunk.start, chunk.end)
            shorter = min(span.end - span.start, chunk.end - chunk.start)
            if shared > 0 and shared >= COVER_FRACTION * shorter:
                return True
        return False
    return chunk.source in gold.sources


def first_relevant_rank(ranked: Sequence[SpanLike], gold: Gold) -> int | None:
    """1-based rank of the first relevant chunk, or None."""
    for rank, chunk in enumerate(ranked, 1):
        if is_relevant(chunk, gold):
            return rank
    return None


def hit_at(rank: int | None, n: int) -> float:
    """1.0 when a relevant chunk is among the first `n`."""
    return 1.0 if rank is not None and rank <= n else 0.0


def reciprocal_rank(rank: int | None, cutoff: int = 10) -> float:
    """1/rank of the first relevant chunk within `cutoff`, else 0."""
    return 1.0 / rank if rank is not None and rank <= cutoff else 0.0


def context_recall(retrieved: Sequence[SpanLike], gold: Gold) -> float:
    """Share of gold passage characters inside retrieved chunks (mean over passages).

    Without passages: the share of gold sources that at least one retrieved chunk comes from.
    """
    if not gold.passages:
        found = {chunk.source for chunk in retrieved}
        return len(gold.sources & found) / len(gold.sources) if gold.sources else 0.0
    recalls = []
    for occurrences in gold.passages:
        best = 0.0
        for span in occurrences:
            covered = np.zeros(span.end - span.start, dtype=bool)
            for chunk in retrieved:
                if chunk.source == span.source:
                    lo, hi = max(chunk.start, span.start), min(chunk.end, span.end)
                    if hi > lo:
                        covered[lo - span.start : hi - span.start] = True
            best = max(best, float(covered.mean()) if covered.size else 0.0)
        recalls.append(best)
    return sum(recalls) / len(recalls)


def normalize_text(text: str) -> str:
    """Case-folded, NFKC, typographic quotes and dashes unified, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY).casefold()
    return " ".join(text.split())


def must_include(answer: str, groups: Sequence[Sequence[str]]) -> tuple[float, list[list[str]]]:
    """(share of groups with at least one alternative in the answer, the groups that had none)."""
    if not groups:
        return 1.0, []
    text = normalize_text(strip_markers(answer))
    missing = [list(g) for g in groups if not any(normalize_text(alt) in text for alt in g)]
    return 1.0 - len(missing) / len(groups), missing


def answer_tokens(text: str) -> list[str]:
    """SQuAD-style tokens: case-folded words, punctuation and articles dropped."""
    words = re.findall(r"\w+", normalize_text(strip_markers(text)))
    return [w for w in words if w not in _ARTICLES]


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall between the answer and the reference."""
    predicted, expected = answer_tokens(prediction), answer_tokens(reference)
    if not predicted or not expected:
        return float(predicted == expected)
    shared = sum((Counter(predicted) & Counter(expected)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(predicted), shared / len(expected)
    return 2 * precision * recall / (precision + recall)


def cosine(a: Any, b: Any) -> float:
    """Cosine similarity of two vectors."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / norms) if norms else 0.0


def citation_problems(
    answer: str, citations: Sequence[Any], text_of: Callable[[str], str | None]
) -> list[str]:
    """Why citations are invalid: a quote that isn't its source slice, an [n] with no citation."""
    problems = []
    numbers = {c.n for c in citations}
    for c in citations:
        text = text_of(c.source)
        if text is None:
            problems.append(f"[{c.n}] cites unknown document {c.source!r}")
        elif not (0 <= c.start <= c.end <= len(text)) or text[c.start : c.end] != c.quote:
            problems.append(f"[{c.n}] quote is not {c.source}[{c.start}:{c.end}]")
    for n in sorted({int(m) for m in re.findall(r"\[(\d+)\]", answer)} - numbers):
        problems.append(f"[{n}] in the answer has no citation")
    return problems


def related_problems(related: Sequence[Any], text_of: Callable[[str], str | None]) -> list[str]:
    """Why passages a refusal lists as related are invalid (each must be its source slice too)."""
    return [f"related {problem}" for problem in citation_problems("", related, text_of)]


def citation_validity(
    answer: str,
    citations: Sequence[Any],
    text_of: Callable[[str], str | None],
    related: Sequence[Any] = (),
) -> float:
    """Share of citations and related passages (and dangling [n] markers) that are exact,
    checkable source slices."""
    problems = citation_problems(answer, citations, text_of) + related_problems(related, text_of)
    return validity_of(problems, len(citations) + len(related))


def validity_of(problems: Sequence[str], quoted: int) -> float:
    """citation_validity from the problems already found among `quoted` citations and related
    passages (each dangling [n] marker counts as one more)."""
    total = quoted + sum(1 for p in problems if p.endswith("has no citation"))
    return 1.0 - len(problems) / total if total else 1.0


def citation_support(citations: Sequence[SpanLike], gold: Gold) -> float:
    """Share of citations overlapping a gold passage (or, without passages, in a gold source)."""
    if not citations:
        return 0.0
    if gold.passages:
        supported = [
            c for c in citations if any(s.overlap(c.source, c.start, c.end) for s in gold.spans)
        ]
    else:
        supported = [c for c in citations if c.source in gold.sources]
    return len(supported) / len(citations)
