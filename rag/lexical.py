"""Lexical matching that survives typography: curly quotes, dashes, case and word endings."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
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


def tokenize(text: str) -> list[str]:
    """Stemmed content words of `text`."""
    words = [w for w in _WORD.findall(normalize(text)) if w not in STOPWORDS]
    return _stemmer().stemWords(words)


class LexicalIndex:
    """BM25 (bm25s) over chunk texts, plus the IDF table sentence scoring needs.

    Saved with each generation and memory-mapped when read (`save`, `load`): a replica maps the
    index instead of tokenising every chunk.
    """

    def __init__(self, texts: list[str]) -> None:
        self._attach(_bm25_of([tokenize(t) for t in texts]))

    def _attach(self, bm25: Any) -> None:
        self.bm25 = bm25
        self.vocabulary: dict[str, int] = bm25.vocab_dict if bm25 is not None else {}
        self.size = int(bm25.scores["num_docs"]) if bm25 is not None else 0
        indptr = bm25.scores["indptr"] if bm25 is not None else np.zeros(1, dtype=np.int64)
        self._indptr = indptr

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """The index `save` wrote into `folder`, its score arrays memory-mapped."""
        index = cls.__new__(cls)
        if (folder / EMPTY).exists():
            index._attach(None)
            return index
        import bm25s

        _quiet_bm25s()
        index._attach(bm25s.BM25.load(str(folder), mmap=True, show_progress=False))
        return index

    def save(self, folder: Path) -> None:
        """Write the index into `folder` (bm25s's own format)."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.bm25 is None:
            (folder / EMPTY).write_text("", encoding="utf-8")
        else:
            self.bm25.save(str(folder), show_progress=False)

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


def _quiet_bm25s() -> None:
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG


def _bm25_of(tokens: list[list[str]]) -> Any:
    """A bm25s index of tokenised chunks (None for no chunks)."""
    if not tokens:
        return None
    import bm25s

    _quiet_bm25s()
    bm25 = bm25s.BM25()
    bm25.index([doc or [""] for doc in tokens], show_progress=False)
    return bm25
