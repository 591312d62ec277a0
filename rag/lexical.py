"""Lexical matching that survives typography: curly quotes, dashes, case and word endings."""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

STOPWORDS = frozenset(
    (
        "a about above after again against all also am an and any are as at be because been "
        "before being below between both but by can could d did do does doing down during each "
        "few for from further had has have having he her here hers herself him himself his how i "
        "if in into is it its itself just ll m may me might more most must my myself no nor not "
        "now of off on once only or other our ours ourselves out over own re s same shall she "
        "should so some such t than that the their theirs them themselves then there these they "
        "this those through to too under until up us ve very was we were what when where which "
        "while who whom whose why will with would y you your yours yourself yourselves"
    ).split()
)
# "us" the pronoun is a stopword; "US" the country is restored before lower-casing.
_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": " ", "–": " ", "‐": "-"})
_WORD = re.compile(r"[a-z0-9]+")


def unify_typography(text: str) -> str:
    """NFKC with straight quotes and dashes as spaces: how users type."""
    return unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)


def normalize(text: str) -> str:
    """Typography unified, "US" kept apart from "us", possessives dropped, lower case."""
    text = unify_typography(text)
    text = re.sub(r"\bUS\b|\bU\.S\.(?=\W)", "usa", text)
    text = re.sub(r"'s\b", "", text)
    return text.lower()


class _Stemmer(Protocol):
    def stemWords(self, words: list[str]) -> list[str]: ...  # PyStemmer's spelling


@cache
def _stemmer() -> _Stemmer:
    import Stemmer

    return Stemmer.Stemmer("english")


def words_of(text: str) -> list[str]:
    """The normalised words of `text`, stopwords included, unstemmed."""
    return _WORD.findall(normalize(text))


def stem_content_words(words: list[str]) -> list[str]:
    """`tokenize` of the text these `words_of`."""
    return _stemmer().stemWords([w for w in words if w not in STOPWORDS])


def tokenize(text: str) -> list[str]:
    """Stemmed content words of `text`."""
    return stem_content_words(words_of(text))


@dataclass(frozen=True)
class ChunkTerms:
    """Every chunk's terms as ids into a sorted vocabulary: what the BM25 index is built from.

    Saved with the index, so the next generation rebuilds it without tokenising the chunks it
    keeps. The sorted vocabulary makes the built index the same however the terms were gathered.
    """

    vocabulary: list[str]
    ids: np.ndarray  # int32: chunk i's terms, in text order, are ids[offsets[i] : offsets[i + 1]]
    offsets: np.ndarray  # int64, one more than there are chunks

    def of_chunk(self, chunk: int) -> np.ndarray:
        return self.ids[self.offsets[chunk] : self.offsets[chunk + 1]]


class TermCollector:
    """Gathers chunks' terms, tokenised from their text or given as ids into an earlier
    vocabulary (`vocabulary[i]` is term id i), into `ChunkTerms`."""

    def __init__(self, vocabulary: list[str] | None = None) -> None:
        self._vocabulary = list(vocabulary or [])
        self._id = {term: i for i, term in enumerate(self._vocabulary)}
        self._chunks: list[np.ndarray] = []

    def _term_id(self, term: str) -> int:
        found = self._id.get(term)
        if found is None:
            found = self._id[term] = len(self._vocabulary)
            self._vocabulary.append(term)
        return found

    def add_text(self, text: str) -> None:
        terms = tokenize(text) or [""]  # bm25s needs a term in every chunk
        self._chunks.append(np.fromiter(map(self._term_id, terms), np.int64, len(terms)))

    def add_ids(self, ids: np.ndarray) -> None:
        """A chunk whose terms are ids into the vocabulary this collector started with."""
        self._chunks.append(np.asarray(ids, dtype=np.int64))

    def finish(self) -> ChunkTerms:
        """The terms gathered, over the sorted vocabulary of the terms they use."""
        offsets = np.zeros(len(self._chunks) + 1, dtype=np.int64)
        np.cumsum([len(ids) for ids in self._chunks], out=offsets[1:])
        ids = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int64)
        used = np.unique(ids)
        order = sorted(range(len(used)), key=lambda i: self._vocabulary[used[i]])
        new_id = np.zeros(len(self._vocabulary), dtype=np.int32)
        new_id[used[order]] = np.arange(len(order), dtype=np.int32)
        vocabulary = [self._vocabulary[used[i]] for i in order]
        return ChunkTerms(vocabulary=vocabulary, ids=new_id[ids], offsets=offsets)


class LexicalIndex:
    """BM25 (bm25s) over chunk texts, plus the IDF table sentence scoring needs.

    Saved with each generation and memory-mapped when read (`save`, `load`): a replica maps the
    index instead of tokenising every chunk. `terms` (None for an index saved before they were)
    are what `of_terms` rebuilds it from.
    """

    def __init__(self, texts: list[str]) -> None:
        collector = TermCollector()
        for text in texts:
            collector.add_text(text)
        terms = collector.finish()
        self._attach(_bm25_of(terms), terms)

    @classmethod
    def of_terms(cls, terms: ChunkTerms) -> LexicalIndex:
        """The index of chunks already tokenised."""
        index = cls.__new__(cls)
        index._attach(_bm25_of(terms), terms)
        return index

    def _attach(self, bm25: Any, terms: ChunkTerms | None) -> None:
        self.bm25 = bm25
        self.terms = terms
        self.vocabulary: dict[str, int] = bm25.vocab_dict if bm25 is not None else {}
        self.size = int(bm25.scores["num_docs"]) if bm25 is not None else 0
        indptr = bm25.scores["indptr"] if bm25 is not None else np.zeros(1, dtype=np.int64)
        self._indptr = indptr

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """The index `save` wrote into `folder`, its score arrays and terms memory-mapped."""
        index = cls.__new__(cls)
        bm25 = None
        if not (folder / EMPTY).exists():
            import bm25s

            _quiet_bm25s()
            bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        terms = None
        if (folder / TERMS).exists():
            vocabulary = json.loads((folder / VOCABULARY).read_text(encoding="utf-8"))
            ids, offsets = (np.load(folder / name, mmap_mode="r") for name in (TERMS, OFFSETS))
            terms = ChunkTerms(vocabulary=vocabulary, ids=ids, offsets=offsets)
        index._attach(bm25, terms)
        return index

    def save(self, folder: Path) -> None:
        """Write the index into `folder` (bm25s's own format, and the terms beside it)."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.bm25 is None:
            (folder / EMPTY).write_text("", encoding="utf-8")
        else:
            self.bm25.save(str(folder), show_progress=False)
        if self.terms is not None:
            np.save(folder / TERMS, self.terms.ids.astype(np.int32))
            np.save(folder / OFFSETS, self.terms.offsets)
            text = json.dumps(self.terms.vocabulary, ensure_ascii=False)
            (folder / VOCABULARY).write_text(text, encoding="utf-8")

    def doc_freq(self, term: str) -> int:
        """Chunks holding `term`: the length of its column in the score matrix."""
        column = self.vocabulary.get(term)
        if column is None or not term:
            return 0
        return int(self._indptr[column + 1] - self._indptr[column])

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term absent from the corpus gets the highest value."""
        df = self.doc_freq(term)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query."""
        known = [t for t in query_tokens if self.doc_freq(t)]
        if not known or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)


EMPTY = "empty"  # marks the saved index of an empty corpus (bm25s cannot save one)
TERMS, OFFSETS, VOCABULARY = "terms.npy", "term_offsets.npy", "terms.json"


def _quiet_bm25s() -> None:
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG


def _bm25_of(terms: ChunkTerms) -> Any:
    """A bm25s index of tokenised chunks (None for no chunks)."""
    if len(terms.offsets) == 1:
        return None
    import bm25s

    _quiet_bm25s()
    every = terms.ids.tolist()
    bounds = terms.offsets.tolist()
    chunks = [every[start:stop] for start, stop in itertools.pairwise(bounds)]
    vocabulary = {term: i for i, term in enumerate(terms.vocabulary)}
    bm25 = bm25s.BM25()
    bm25.index((chunks, vocabulary), show_progress=False)
    return bm25
