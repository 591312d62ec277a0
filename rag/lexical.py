"""Lexical matching that survives typography: curly quotes, dashes, case and word endings."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from functools import cache
from typing import Protocol

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
    """BM25 (bm25s) over chunk texts, plus the IDF table sentence scoring needs."""

    def __init__(self, texts: list[str]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG
        self.tokens = [tokenize(t) for t in texts]
        self.size = len(texts)
        self.doc_freq = Counter(term for doc in self.tokens for term in set(doc))
        self.bm25 = bm25s.BM25()
        if texts:
            self.bm25.index([doc or [""] for doc in self.tokens], show_progress=False)

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term absent from the corpus gets the highest value."""
        df = self.doc_freq.get(term, 0)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query."""
        known = [t for t in query_tokens if t in self.doc_freq]
        if not known or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)
