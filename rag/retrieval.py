"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused (rag/fusion.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManager, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig
from pydantic import ConfigDict

from rag.fusion import PER_SOURCE, one_per_source
from rag.lexical import LexicalIndex, tokenize, unify_typography
from rag.store import IndexStore, Snapshot


@dataclass
class Retrieval:
    """Ranked chunks plus what was computed on the way, for the answerer to reuse."""

    documents: list[Document]
    query_vector: np.ndarray
    snapshot: Snapshot | None
    # Chunks among the k most relevant that the one-per-article ordering moved out of `documents`:
    # not shown, but an answerer may read them (the best article often has more than one).
    also_read: list[Document] = field(default_factory=list)
    # Ids of the k chunks ranked first by fused score, before the one-per-article ordering.
    ranked: list[str] = field(default_factory=list)

    def top(self, k: int) -> list[Document]:
        """The chunks a retrieval of `k` would show, then those it would read (`also_read`): the
        same ones whatever larger k this retrieval was made with."""
        shown = self.documents[:k]
        ids = {d.id for d in shown}
        by_id = {d.id: d for d in self.documents + self.also_read}
        return shown + [by_id[i] for i in self.ranked[:k] if i not in ids and i in by_id]


def lexical_index(snapshot: Snapshot) -> LexicalIndex:
    """The snapshot's BM25 index (memory-mapped from the generation's search files)."""
    return snapshot.lexical


class HybridRetriever(BaseRetriever):
    """Top-k chunks by fused dense and BM25 scores; metadata carries every score."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: IndexStore
    k: int = 5
    fetch_k: int = 20
    rrf_k: int = 60
    per_source: int = PER_SOURCE

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        return self.retrieve(query, k=k).documents

    def retrieve(self, query: str, k: int | None = None) -> Retrieval:
        """Rank chunks for `query`; also returns the query vector."""
        k = self.k if k is None else k
        query_vector = np.asarray(
            self.store.embeddings.embed_query(unify_typography(query)), dtype=np.float32
        )
        snapshot = self.store.snapshot()
        if snapshot is None or not snapshot.size or k <= 0:
            return Retrieval([], query_vector, snapshot)
        fetch = min(max(self.fetch_k, k), snapshot.size)
        dense_hits = snapshot.chunks.similarity_search_by_vector_with_relevance_scores(
            query_vector.tolist(), k=fetch
        )
        dense = {doc.id: 1.0 - distance for doc, distance in dense_hits}  # cosine similarity
        table = snapshot.search
        lexical = table.lexical.scores(tokenize(query))
        lexical_top = [int(i) for i in np.argsort(-lexical)[:fetch] if lexical[i] > 0]
        fused: dict[int, float] = {}
        for rank, cid in enumerate(dense):
            row = table.row(str(cid))
            if row is not None:
                fused[row] = fused.get(row, 0.0) + 1.0 / (self.rrf_k + rank + 1)
        for rank, row in enumerate(lexical_top):
            fused[row] = fused.get(row, 0.0) + 1.0 / (self.rrf_k + rank + 1)
        ranked = sorted(fused, key=lambda row: -fused[row])
        sources = {row: table.source(row) for row in ranked}
        shown = one_per_source(ranked, sources, self.per_source)[:k]
        shown_rows = set(shown)
        also = [row for row in ranked[:k] if row not in shown_rows]
        # Only the chunks shown or read are fetched: two requests, or none when cached.
        stored = {c.id: c for c in snapshot.fetch(table.chunk_id(row) for row in shown + also)}

        def document(row: int) -> Document:
            chunk = stored[table.chunk_id(row)]
            meta: dict[str, Any] = dict(chunk.meta)
            meta.update(
                chunk_id=chunk.id,
                score=fused[row],
                dense_score=dense.get(chunk.id),
                lexical_score=float(lexical[row]),
            )
            return Document(id=chunk.id, page_content=chunk.text, metadata=meta)

        documents = [document(row) for row in shown if table.chunk_id(row) in stored]
        also_read = [document(row) for row in also if table.chunk_id(row) in stored]
        ranked_ids = [table.chunk_id(row) for row in ranked[:k]]
        return Retrieval(documents, query_vector, snapshot, also_read, ranked_ids)


def retrieve_as_run(
    retriever: HybridRetriever, query: str, k: int, config: RunnableConfig
) -> Retrieval:
    """`retriever.retrieve` reported as a retriever run, the way `BaseRetriever.invoke` reports
    one (the chain needs the query vector and snapshot too, not only the documents)."""
    manager = CallbackManager.configure(
        config.get("callbacks"),
        None,
        inheritable_tags=config.get("tags"),
        local_tags=retriever.tags,
        inheritable_metadata=config.get("metadata"),
        local_metadata=retriever.metadata,
    )
    run = manager.on_retriever_start(None, query, name=retriever.get_name())
    try:
        retrieval = retriever.retrieve(query, k=k)
    except Exception as err:
        run.on_retriever_error(err)
        raise
    run.on_retriever_end(retrieval.documents)
    return retrieval
