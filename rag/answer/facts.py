"""What a sentence holds whatever the question: its terms and facts, as stored or computed.

An ingest stores them with the generation's search files (`encode`, one JSON list per sentence),
so a question reads them (`decode`) instead of running a dozen regexes over every sentence it
scores; for search files written before they were stored, they are computed as the question
needs them. Both ways give the same values: the learned scorer's weights were fitted on them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from rag.answer.question_type import AnswerType, holds_answer_type
from rag.lexical import STOPWORDS, stem_content_words, tokenize, words_of

if TYPE_CHECKING:
    from rag.snapshot import Sentence, StoredChunk

NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'&.-]*(?:\s+(?:of\s+|de\s+)?[A-Z][\w’'&.-]*)*")
NUMBER = re.compile(r"\d[\d,.]*")
# The learned weights were fitted with this definition (wider than question_type.states_a_cause,
# which the rules use): change it only together with a retraining.
CAUSAL = re.compile(
    r"\b(because|due to|after|since|so that|in order to|following|amid|as a result|"
    r"led to|caused|reason|cited|citing|over concerns?|in response to)\b",
    re.IGNORECASE,
)
# Answer kinds whose check does not depend on the question, and their bits in the stored flags.
TYPED: tuple[AnswerType, ...] = ("date", "number", "location")
_CAUSAL_BIT = 1


def asks(sentence: str) -> bool:
    """Whether the sentence is itself a question."""
    return sentence.rstrip(" \t\n\"'’”)").endswith("?")


def word_pairs(words: list[str]) -> frozenset[tuple[str, str]]:
    """Adjacent word pairs with at least one content word ("voted against")."""
    return frozenset((a, b) for a, b in pairwise(words) if a not in STOPWORDS or b not in STOPWORDS)


def phrases(text: str) -> frozenset[tuple[str, str]]:
    """Adjacent word pairs of `text`, unstemmed, with at least one content word."""
    return word_pairs(words_of(text))


@dataclass(frozen=True)
class SentenceFacts:
    """What a sentence holds regardless of the question."""

    names: tuple[frozenset[str], ...]  # lower-cased words of each capitalised name
    numbers: frozenset[str]
    causal: bool
    length: int
    is_question: bool
    typed: dict[str, bool]  # answer kinds whose check does not depend on the question
    phrases: frozenset[tuple[str, str]]


def compute(text: str) -> tuple[frozenset[str], SentenceFacts]:
    """A sentence's terms (`tokenize`, as a set) and facts, worked out from its text."""
    words = words_of(text)  # once, for the terms and the phrases
    facts = SentenceFacts(
        names=tuple(frozenset(m.group().lower().split()) for m in NAME.finditer(text)),
        numbers=frozenset(NUMBER.findall(text)),
        causal=bool(CAUSAL.search(text)),
        length=len(text),
        is_question=asks(text),
        typed={kind: holds_answer_type(text, kind) for kind in TYPED},
        phrases=word_pairs(words),
    )
    return frozenset(stem_content_words(words)), facts


def encode(text: str) -> bytes:
    """A sentence's terms and facts as stored at ingest (what `decode` reads back)."""
    terms, facts = compute(text)
    flags = _CAUSAL_BIT * facts.causal
    for bit, kind in enumerate(TYPED, start=1):
        flags |= facts.typed[kind] << bit
    return json.dumps(
        [
            flags,
            sorted(terms),
            [sorted(name) for name in facts.names],
            sorted(facts.numbers),
            [word for pair in sorted(facts.phrases) for word in pair],
        ],
        separators=(",", ":"),
    ).encode("ascii")


def decode(stored: bytes, text: str) -> tuple[frozenset[str], SentenceFacts]:
    """The terms and facts `encode(text)` stored."""
    flags, terms, names, numbers, pairs = json.loads(stored)
    facts = SentenceFacts(
        names=tuple(map(frozenset, names)),
        numbers=frozenset(numbers),
        causal=bool(flags & _CAUSAL_BIT),
        length=len(text),
        is_question=asks(text),
        typed={kind: bool(flags >> bit & 1) for bit, kind in enumerate(TYPED, start=1)},
        phrases=frozenset(zip(pairs[::2], pairs[1::2], strict=True)),
    )
    return frozenset(terms), facts


def _read(chunk: StoredChunk, sentence: Sentence) -> bool:
    """Cache the sentence's stored terms and facts with its chunk; False if none are stored."""
    if chunk.stored_facts is None:
        return False
    terms, facts = decode(chunk.stored_facts[sentence.index], sentence.text)
    chunk.derived.setdefault("sentence_terms", {})[sentence.id] = terms
    chunk.derived.setdefault("sentence_facts", {})[sentence.id] = facts
    return True


def terms_in_chunk(chunk: StoredChunk, sentence: Sentence) -> frozenset[str]:
    """Stemmed content words of a sentence of `chunk` (kept with the chunk in the cache)."""
    cache: dict[str, frozenset[str]] = chunk.derived.setdefault("sentence_terms", {})
    if sentence.id not in cache and not _read(chunk, sentence):
        cache[sentence.id] = frozenset(tokenize(sentence.text))
    return cache[sentence.id]


def sentence_facts(chunk: StoredChunk, sentence: Sentence) -> SentenceFacts:
    """The facts of a sentence of `chunk` (kept with the chunk in the cache)."""
    cache: dict[str, SentenceFacts] = chunk.derived.setdefault("sentence_facts", {})
    if sentence.id not in cache and not _read(chunk, sentence):
        terms, cache[sentence.id] = compute(sentence.text)
        chunk.derived.setdefault("sentence_terms", {}).setdefault(sentence.id, terms)
    return cache[sentence.id]
