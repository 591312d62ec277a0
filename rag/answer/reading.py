"""Read more than you show: the chunks whose sentences compete for the answer."""

from __future__ import annotations

from langchain_core.documents import Document

from rag.answer.facts import terms_in_chunk
from rag.store import Snapshot

READ_CHUNKS = 10  # retrieved chunks whose sentences are scored (only the top k are shown)
WHOLE_ARTICLES = 1  # every sentence of the article of the top-ranked chunk is scored


def sentence_terms(snapshot: Snapshot, sentence_id: str) -> frozenset[str]:
    """Stemmed content words of one indexed sentence (kept with its chunk in the cache)."""
    sentence = snapshot.sentence(sentence_id)
    return terms_in_chunk(snapshot.chunk(sentence.chunk_id), sentence)


def reading_pool(
    documents: list[Document],
    snapshot: Snapshot,
    read_chunks: int = READ_CHUNKS,
    whole_articles: int = WHOLE_ARTICLES,
) -> list[str]:
    """Ids of the top `read_chunks` retrieved chunks, then of the rest of the top articles'."""
    pool = [str(doc.metadata["chunk_id"]) for doc in documents[:read_chunks]]
    articles: list[str] = []
    for doc in documents:
        if len(articles) >= whole_articles:
            break
        source = str(doc.metadata["source"])
        if source not in articles:
            articles.append(source)
    for source in articles:
        pool += snapshot.chunks_of_source(source)
    return list(dict.fromkeys(pool))
