"""The index as readers see it: the current generation, reopened when the pointer moves.

Generations live in folders next to a CURRENT file (embedded Chroma) or, with RAG_CHROMA_URL, in
a Chroma server that every replica shares (`rag/generations/`). Either way an ingest builds a new
generation and swaps the pointer only at the end, so a crash (kill -9) leaves the previous index
answering. Readers re-check the pointer on every question (a file read, or one ~1 ms request).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.embeddings import SentenceEmbeddings
from rag.errors import NoDocumentsError
from rag.generations.base import (
    MANIFEST,
    RETIRE_AFTER_S,
    Generations,
    GenerationWriter,
    OpenGeneration,
)
from rag.generations.chroma import get_all, guarded, vector_store
from rag.generations.local import CURRENT, FolderGenerations, write_atomically
from rag.generations.server import ServerGenerations
from rag.models import Citation

log = logging.getLogger(__name__)


__all__ = ["CURRENT", "MANIFEST", "IndexStore", "Snapshot", "open_store", "write_atomically"]


def indexed_with(manifest: dict[str, Any]) -> tuple[str, str]:
    """(model, backend) an index was embedded with; indexes from before int8 are fp32."""
    return str(manifest.get("embedding_model")), str(manifest.get("embedding_backend", "fp32"))


def embedded_with(embeddings: Any) -> tuple[str, str]:
    """(model, backend) new vectors, and questions, are embedded with."""
    return embeddings.name, getattr(embeddings, "backend", "fp32")


class GuardedStore:
    """A vector store whose calls report an unreachable Chroma server as a clear error."""

    def __init__(self, inner: Any, url: str | None) -> None:
        self._inner = inner
        self._url = url

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            return guarded(self._url, lambda: attribute(*args, **kwargs))

        return call


@dataclass
class Snapshot:
    """One generation opened for reading: chunks, sentence vectors and document texts."""

    generation: str
    path: Path | None  # the generation's folder (None on a Chroma server)
    manifest: dict[str, Any]
    client: Any
    chunks: Any  # langchain_chroma.Chroma of chunks (calls guarded in server mode)
    chunk_ids: list[str]
    chunk_texts: list[str]
    chunk_meta: list[dict[str, Any]]
    sentence_vectors: np.ndarray
    sentence_meta: list[dict[str, Any]]
    sentences_of_chunk: dict[str, list[int]]
    read_text: Any = None  # ref -> text
    cache: dict[str, Any] = field(default_factory=dict)
    _texts: dict[str, str] = field(default_factory=dict)

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return self.manifest["documents"]

    @functools.cached_property
    def row_of(self) -> dict[str, int]:
        """Row of each chunk id in chunk_ids / chunk_meta / chunk_texts (built once)."""
        return {chunk_id: row for row, chunk_id in enumerate(self.chunk_ids)}

    def document_text(self, source: str) -> str:
        """The exact text citations into `source` point into."""
        if source not in self._texts:
            self._texts[source] = self.read_text(self.documents[source]["text_file"])
        return self._texts[source]

    def sentence_text(self, row: int) -> str:
        """The text of sentence `row`, sliced from its document."""
        meta = self.sentence_meta[row]
        return self.document_text(meta["source"])[meta["start"] : meta["end"]]

    def citation(self, n: int, row: int) -> Citation:
        """Citation [n] quoting sentence `row` (the quote is exactly its document slice)."""
        meta = self.sentence_meta[row]
        chunk = self.chunk_meta[self.row_of[meta["chunk_id"]]]
        return Citation(
            n=n,
            source=meta["source"],
            title=self.documents[meta["source"]]["title"],
            section=str(chunk.get("section", "")),
            chunk_id=meta["chunk_id"],
            start=meta["start"],
            end=meta["end"],
            quote=self.sentence_text(row),
        )


def read_snapshot(generations: Generations, opened: OpenGeneration, embeddings: Any) -> Snapshot:
    """Load chunk texts and sentence vectors of an opened generation."""
    client = opened.client
    chunks = vector_store(client, opened.chunk_collection, embeddings)
    sentences = vector_store(client, opened.sentence_collection, embeddings)
    got = get_all(chunks, ["documents", "metadatas"])
    sent = get_all(sentences, ["embeddings", "metadatas"])
    dim = len(sent["embeddings"][0]) if sent["embeddings"] else 0
    vectors = np.asarray(sent["embeddings"], dtype=np.float32).reshape(-1, dim)
    by_chunk: dict[str, list[int]] = {}
    for row, meta in enumerate(sent["metadatas"]):
        by_chunk.setdefault(meta["chunk_id"], []).append(row)
    for rows in by_chunk.values():
        rows.sort(key=lambda r: sent["metadatas"][r]["start"])
    location = generations.location(opened.name)
    return Snapshot(
        generation=opened.name,
        path=location if isinstance(location, Path) else None,
        manifest=opened.manifest,
        client=client,
        chunks=GuardedStore(chunks, generations.url) if generations.url else chunks,
        chunk_ids=list(got["ids"]),
        chunk_texts=list(got["documents"]),
        chunk_meta=[dict(m) for m in got["metadatas"]],
        sentence_vectors=vectors,
        sentence_meta=[dict(m) for m in sent["metadatas"]],
        sentences_of_chunk=by_chunk,
        read_text=opened.read_text,
    )


class IndexStore:
    """The index for one embedding model: folders under `index_dir`, or a Chroma server."""

    def __init__(
        self,
        index_dir: Path,
        embeddings: SentenceEmbeddings,
        prefix: str = "documents",
        generations: Generations | None = None,
    ):
        self.index_dir = Path(index_dir)
        self.embeddings = embeddings
        self.generations = generations or FolderGenerations(self.index_dir, prefix)
        self._snapshot: Snapshot | None = None
        self._opened: OpenGeneration | None = None
        # Replaced generations stay open a while: a question may still be reading one.
        self._retired: list[tuple[float, OpenGeneration]] = []
        self._lock = threading.Lock()

    def current_generation(self) -> Any:
        """Where the current generation lives (a folder, or a name on the server), if any."""
        name = self.generations.current()
        return None if name is None else self.generations.location(name)

    def current_manifest(self) -> dict[str, Any] | None:
        """The current generation's manifest, read without loading its vectors."""
        name = self.generations.current()
        if name is None:
            return None
        cached = self._snapshot
        if cached is not None and cached.generation == name:
            return cached.manifest
        return self.generations.manifest(name)

    def is_empty(self) -> bool:
        return self.generations.current() is None

    def snapshot(self) -> Snapshot | None:
        """The current generation opened for reading (reopened when the pointer moves)."""
        name = self.generations.current()
        with self._lock:
            if name is None:
                return None
            if self._snapshot is None or self._snapshot.generation != name:
                opened = self.generations.open(name)
                snapshot = guarded(
                    self.generations.url,
                    lambda: read_snapshot(self.generations, opened, self.embeddings),
                )
                self._check_model(snapshot)
                old, self._opened, self._snapshot = self._opened, opened, snapshot
                now = time.monotonic()
                if old is not None:
                    self._retired.append((now, old))
                while self._retired and now - self._retired[0][0] > RETIRE_AFTER_S:
                    self.generations.release(self._retired.pop(0)[1])
            return self._snapshot

    def require_snapshot(self) -> Snapshot:
        """The current snapshot, for callers that have just ensured an index exists."""
        snapshot = self.snapshot()
        if snapshot is None:
            raise NoDocumentsError("the index is empty: run `rag ingest` first")
        return snapshot

    def _check_model(self, snapshot: Snapshot) -> None:
        indexed, current = indexed_with(snapshot.manifest), embedded_with(self.embeddings)
        if indexed != current:
            log.warning(
                "the index was embedded with %s (%s) but questions with %s (%s); "
                "run `rag ingest` to re-embed",
                *indexed,
                *current,
            )

    @contextlib.contextmanager
    def writer(self, reset: bool = False) -> Iterator[GenerationWriter]:
        """A new generation to fill; it becomes current when the block ends without error."""
        with self.generations.writer(self.embeddings, reset) as generation:
            yield generation


def open_store(
    index_dir: Path, embeddings: SentenceEmbeddings, prefix: str, chroma_url: str | None
) -> IndexStore:
    """The embedded store under `index_dir`, or the shared one on the Chroma server at the URL."""
    generations = ServerGenerations(chroma_url, prefix) if chroma_url else None
    return IndexStore(index_dir, embeddings, prefix, generations)
