"""The index on disk: immutable Chroma generations and a CURRENT pointer swapped atomically.

An ingest copies the current generation, changes the copy and only then repoints CURRENT, so a
crash (kill -9) at any moment leaves the previous index answering. Readers re-check CURRENT on
every question and pick up a new generation without a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.embeddings import SentenceEmbeddings

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
MANIFEST = "manifest.json"


def _chroma_client(path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    )


def _close_client(client: Any) -> None:
    """Release Chroma's per-path cached system so the folder can be reused or deleted."""
    from chromadb.api.shared_system_client import SharedSystemClient

    identifier = str(getattr(client, "_identifier", ""))
    system = SharedSystemClient._identifier_to_system.pop(identifier, None)
    if system is not None:
        with contextlib.suppress(Exception):
            system.stop()


def vector_store(client: Any, name: str, embeddings: SentenceEmbeddings) -> Any:
    """A langchain-chroma store that always embeds with our model (never Chroma's default)."""
    from langchain_chroma import Chroma

    return Chroma(
        client=client,
        collection_name=name,
        embedding_function=embeddings,
        collection_metadata={"hnsw:space": "cosine"},
    )


def write_atomically(path: Path, content: str) -> None:
    """Write a file so readers see either the old or the new content, never half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass
class Snapshot:
    """One generation opened for reading: chunks, sentence vectors and document texts."""

    path: Path
    manifest: dict[str, Any]
    client: Any
    chunks: Any  # langchain_chroma.Chroma of chunks
    chunk_ids: list[str]
    chunk_texts: list[str]
    chunk_meta: list[dict[str, Any]]
    sentence_vectors: np.ndarray
    sentence_meta: list[dict[str, Any]]
    sentences_of_chunk: dict[str, list[int]]
    cache: dict[str, Any] = field(default_factory=dict)
    _texts: dict[str, str] = field(default_factory=dict)

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return self.manifest["documents"]  # type: ignore[no-any-return]

    def document_text(self, source: str) -> str:
        """The exact text citations into `source` point into."""
        if source not in self._texts:
            record = self.documents[source]
            self._texts[source] = (self.path / record["text_file"]).read_text(encoding="utf-8")
        return self._texts[source]


class IndexStore:
    """A folder of index generations for one embedding model."""

    def __init__(self, index_dir: Path, embeddings: SentenceEmbeddings, prefix: str = "documents"):
        self.index_dir = Path(index_dir)
        self.embeddings = embeddings
        self.chunk_collection = f"{prefix}_chunks"
        self.sentence_collection = f"{prefix}_sentences"
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def current_generation(self) -> Path | None:
        """The generation CURRENT points to, if any."""
        try:
            name = (self.index_dir / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        path = self.index_dir / name
        return path if (path / MANIFEST).exists() else None

    def is_empty(self) -> bool:
        return self.current_generation() is None

    def snapshot(self) -> Snapshot | None:
        """The current generation opened for reading (reopened when CURRENT moves)."""
        generation = self.current_generation()
        with self._lock:
            if generation is None:
                return None
            if self._snapshot is None or self._snapshot.path != generation:
                old, self._snapshot = self._snapshot, self._open(generation)
                if old is not None:
                    _close_client(old.client)
            return self._snapshot

    def _open(self, generation: Path) -> Snapshot:
        manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
        client = _chroma_client(generation / "chroma")
        chunks = vector_store(client, self.chunk_collection, self.embeddings)
        got = chunks.get(include=["documents", "metadatas"])
        sentences = vector_store(client, self.sentence_collection, self.embeddings)
        sent = sentences.get(include=["embeddings", "metadatas"])
        vectors = np.asarray(sent["embeddings"], dtype=np.float32).reshape(-1, self._dim(sent))
        by_chunk: dict[str, list[int]] = {}
        for row, meta in enumerate(sent["metadatas"]):
            by_chunk.setdefault(meta["chunk_id"], []).append(row)
        for rows in by_chunk.values():
            rows.sort(key=lambda r: sent["metadatas"][r]["start"])
        return Snapshot(
            path=generation,
            manifest=manifest,
            client=client,
            chunks=chunks,
            chunk_ids=list(got["ids"]),
            chunk_texts=list(got["documents"]),
            chunk_meta=list(got["metadatas"]),
            sentence_vectors=vectors,
            sentence_meta=list(sent["metadatas"]),
            sentences_of_chunk=by_chunk,
        )

    @staticmethod
    def _dim(result: dict[str, Any]) -> int:
        embeddings = result.get("embeddings")
        return len(embeddings[0]) if embeddings is not None and len(embeddings) else 0

    @contextlib.contextmanager
    def writer(self, reset: bool = False) -> Iterator[Path]:
        """Yield a new generation folder (a copy of the current one unless reset) to modify.

        CURRENT moves to it only when the block finishes without error; one writer at a time.
        """
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with (self.index_dir / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self.current_generation()
            self._remove_stale(keep={current})
            new = self.index_dir / f"gen-{time.time_ns()}"
            if current is not None and not reset:
                shutil.copytree(current, new)
            else:
                new.mkdir()
            try:
                yield new
            except BaseException:
                shutil.rmtree(new, ignore_errors=True)
                raise
            write_atomically(self.index_dir / CURRENT, new.name)
            self._remove_stale(keep={new, current})

    def _remove_stale(self, keep: set[Path | None]) -> None:
        """Delete generations nobody should read any more (crashed builds, older versions)."""
        for path in self.index_dir.glob("gen-*"):
            if path not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def open_for_writing(self, generation: Path) -> tuple[Any, Any, Any]:
        """Chroma client, chunk store and sentence store of a generation being written."""
        client = _chroma_client(generation / "chroma")
        return (
            client,
            vector_store(client, self.chunk_collection, self.embeddings),
            vector_store(client, self.sentence_collection, self.embeddings),
        )

    close_client = staticmethod(_close_client)
