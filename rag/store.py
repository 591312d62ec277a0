"""The index as readers see it: the current generation, reopened when the pointer moves.

Generations live in folders next to a CURRENT file (embedded Chroma) or, with RAG_CHROMA_URL, in
a Chroma server that every replica shares (`rag/generations/`). Either way an ingest builds a new
generation and swaps the pointer only at the end, so a crash (kill -9) leaves the previous index
answering. Readers re-check the pointer on every question (a file read, or one ~1 ms request).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.embeddings import SentenceEmbeddings
from rag.errors import ModelError, NoDocumentsError
from rag.generations.base import (
    MANIFEST,
    RETIRE_AFTER_S,
    Generations,
    GenerationWriter,
    OpenGeneration,
)
from rag.generations.chroma import guarded, vector_store
from rag.generations.local import CURRENT, FolderGenerations, write_atomically
from rag.generations.search_files import VERSION as SEARCH_FILES_VERSION
from rag.generations.search_files import SearchIndex
from rag.generations.server import ServerGenerations
from rag.snapshot import Snapshot

log = logging.getLogger(__name__)


__all__ = ["CURRENT", "MANIFEST", "IndexStore", "Snapshot", "open_store", "write_atomically"]


def indexed_with(manifest: dict[str, Any]) -> tuple[str, str]:
    """(model, backend) an index was embedded with; indexes from before int8 are fp32."""
    return str(manifest.get("embedding_model")), str(manifest.get("embedding_backend", "fp32"))


def embedded_with(embeddings: Any) -> tuple[str, str]:
    """(model, backend) new vectors, and questions, are embedded with."""
    return embeddings.name, getattr(embeddings, "backend", "fp32")


def other_dimension(manifest: dict[str, Any], embeddings: Any) -> int | None:
    """The index's vector size when the embeddings now give another (the same server URL and
    model name, another model behind them), else None."""
    dimension = manifest.get("embedding_dim")
    return None if dimension is None or dimension == embeddings.dimension else int(dimension)


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


def read_snapshot(generations: Generations, opened: OpenGeneration, embeddings: Any) -> Snapshot:
    """Open a generation for reading: its manifest and mapped search files, nothing per chunk."""
    client = opened.client
    chunks = vector_store(client, opened.chunk_collection, embeddings)
    location = generations.location(opened.name)
    return Snapshot(
        generation=opened.name,
        path=location if isinstance(location, Path) else None,
        manifest=opened.manifest,
        client=client,
        chunks=GuardedStore(chunks, generations.url) if generations.url else chunks,
        chunk_rows=client.get_collection(opened.chunk_collection, embedding_function=None),
        sentence_rows=client.get_collection(opened.sentence_collection, embedding_function=None),
        search=SearchIndex.open(opened.search),
        read_text=opened.read_text,
        url=generations.url,
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

    def search_files_outdated(self) -> bool:
        """Whether the current generation's search files are an older version than this release
        writes (they are still read; the next ingest writes them anew)."""
        name = self.generations.current()
        version = None if name is None else self.generations.search_files_version(name)
        return version is not None and version != SEARCH_FILES_VERSION

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
                try:
                    snapshot = guarded(
                        self.generations.url,
                        lambda: read_snapshot(self.generations, opened, self.embeddings),
                    )
                    self._check_model(snapshot)
                except BaseException:
                    self.generations.release(opened)  # not kept: the next question reopens
                    raise
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
        dimension = other_dimension(snapshot.manifest, self.embeddings)
        if dimension is not None:  # a question's vector cannot be compared with this index
            raise ModelError(
                f"the index holds {dimension}-dimensional vectors but the embedding model "
                f"{self.embeddings.name!r} now gives {self.embeddings.dimension}: run `rag ingest` "
                "to re-embed the documents"
            )
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
    index_dir: Path,
    embeddings: SentenceEmbeddings,
    prefix: str,
    chroma_url: str | None,
    cache_dir: Path | None = None,
) -> IndexStore:
    """The embedded store under `index_dir`, or the shared one on the Chroma server at the URL
    (`cache_dir`: where a replica keeps the search files it downloads)."""
    generations = ServerGenerations(chroma_url, prefix, cache_dir) if chroma_url else None
    return IndexStore(index_dir, embeddings, prefix, generations)
