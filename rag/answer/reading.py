"""Read more than you show: the chunks whose sentences compete for the answer."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.documents import Document

from rag.lexical import tokenize
from rag.snapshot import Sentence, StoredChunk
from rag.store import Snapshot

READ_CHUNKS = 20  # retrieved chunks whose sentences are scored (only the top k are shown)
WHOLE_ARTICLES = 3  # every sentence of the articles of this many top-ranked chunks is scored


@dataclass(frozen=True)
class PoolChunk:
    """A chunk to read: its retrieval rank, or the rank of the chunk that brought its article."""

    chunk_id: str
    rank: int
    expanded: bool  # read because its article ranked, not because it was retrieved itself


def sentence_terms(snapshot: Snapshot, sentence_id: str) -> frozenset[str]:
    """Stemmed content words of one indexed sentence (kept with its chunk in the cache)."""
    sentence = snapshot.sentence(sentence_id)
    return terms_in_chunk(snapshot.chunk(sentence.chunk_id), sentence)


def terms_in_chunk(chunk: StoredChunk, sentence: Sentence) -> frozenset[str]:
    """`sentence_terms` of a sentence of `chunk`, without looking the chunk up again."""
    cache: dict[str, frozenset[str]] = chunk.derived.setdefault("sentence_terms", {})
    terms = cache.get(sentence.id)
    if terms is None:
        terms = cache[sentence.id] = frozenset(tokenize(sentence.text))
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
    articles: list[tuple[str, int]] = []
    for rank, doc in enumerate(documents):
        if len(articles) >= whole_articles:
            break
        source = str(doc.metadata["source"])
        if all(source != seen for seen, _ in articles):
            articles.append((source, rank))
    for source, rank in articles:
        for chunk_id in snapshot.chunks_of_source(source):
            pool.setdefault(chunk_id, PoolChunk(chunk_id, rank, expanded=True))
    return list(pool.values())
