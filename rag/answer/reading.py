"""Read more than you show: the chunks whose sentences compete for the answer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from langchain_core.documents import Document

from rag.lexical import tokenize
from rag.store import Snapshot

READ_CHUNKS = 20  # retrieved chunks whose sentences are scored (only the top k are shown)
WHOLE_ARTICLES = 3  # every sentence of the articles of this many top-ranked chunks is scored


@dataclass(frozen=True)
class PoolChunk:
    """A chunk to read: its retrieval rank, or the rank of the chunk that brought its article."""

    chunk_id: str
    rank: int
    expanded: bool  # read because its article ranked, not because it was retrieved itself


@dataclass
class ArticleLayout:
    """Per snapshot: chunks of each article in order, and each sentence's place in its article."""

    chunks_of_source: dict[str, list[str]]
    position: np.ndarray  # sentence row -> index of the sentence within its article
    previous: np.ndarray  # sentence row -> row of the article's previous sentence, or -1
    following: np.ndarray  # sentence row -> row of the article's next sentence, or -1


def article_layout(snapshot: Snapshot) -> ArticleLayout:
    """Built once per generation and kept in the snapshot's cache."""
    if "article_layout" not in snapshot.cache:
        by_source: dict[str, list[tuple[int, str]]] = {}
        for meta, chunk_id in zip(snapshot.chunk_meta, snapshot.chunk_ids, strict=True):
            by_source.setdefault(str(meta["source"]), []).append((int(meta["start"]), chunk_id))
        rows_of_source: dict[str, list[tuple[int, int]]] = {}
        for row, meta in enumerate(snapshot.sentence_meta):
            rows_of_source.setdefault(str(meta["source"]), []).append((int(meta["start"]), row))
        size = len(snapshot.sentence_meta)
        position = np.zeros(size, dtype=np.int32)
        previous = np.full(size, -1, dtype=np.int64)
        following = np.full(size, -1, dtype=np.int64)
        for rows in rows_of_source.values():
            ordered = [row for _, row in sorted(rows)]
            for index, row in enumerate(ordered):
                position[row] = index
                if index:
                    previous[row] = ordered[index - 1]
                if index + 1 < len(ordered):
                    following[row] = ordered[index + 1]
        snapshot.cache["article_layout"] = ArticleLayout(
            {source: [cid for _, cid in sorted(chunks)] for source, chunks in by_source.items()},
            position,
            previous,
            following,
        )
    return snapshot.cache["article_layout"]


def sentence_terms(snapshot: Snapshot, row: int) -> frozenset[str]:
    """Stemmed content words of one indexed sentence (tokenised once per generation)."""
    cache: dict[int, frozenset[str]] = snapshot.cache.setdefault("sentence_terms", {})
    terms = cache.get(row)
    if terms is None:
        meta = snapshot.sentence_meta[row]
        text = snapshot.document_text(meta["source"])[meta["start"] : meta["end"]]
        terms = cache[row] = frozenset(tokenize(text))
    return terms


def reading_pool(
    documents: list[Document],
    snapshot: Snapshot,
    read_chunks: int = READ_CHUNKS,
    whole_articles: int = WHOLE_ARTICLES,
) -> list[PoolChunk]:
    """The top `read_chunks` retrieved chunks, then the rest of the top articles' chunks."""
    pool: dict[str, PoolChunk] = {}
    for rank, doc in enumerate(documents[:read_chunks]):
        chunk_id = doc.metadata["chunk_id"]
        pool.setdefault(chunk_id, PoolChunk(chunk_id, rank, expanded=False))
    layout = article_layout(snapshot)
    articles: list[tuple[str, int]] = []
    for rank, doc in enumerate(documents):
        if len(articles) >= whole_articles:
            break
        source = str(doc.metadata["source"])
        if all(source != seen for seen, _ in articles):
            articles.append((source, rank))
    for source, rank in articles:
        for chunk_id in layout.chunks_of_source.get(source, []):
            pool.setdefault(chunk_id, PoolChunk(chunk_id, rank, expanded=True))
    return list(pool.values())
