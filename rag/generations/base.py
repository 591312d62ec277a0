"""What every kind of index generation offers: a writer for new ones, a reader for the current."""

from __future__ import annotations

import contextlib
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
# How long a replaced generation stays readable: far longer than any question takes.
RETIRE_AFTER_S = 120.0


def text_ref(source: str) -> str:
    """Where a document's text is kept inside a generation (stable per source name)."""
    return f"texts/{hashlib.sha256(source.encode()).hexdigest()[:24]}.txt"


@dataclass
class OpenGeneration:
    """A committed generation opened for reading."""

    name: str
    client: Any
    manifest: dict[str, Any]
    read_text: Callable[[str], str]
    chunk_collection: str
    sentence_collection: str
    search: Path  # the search files (rag/generations/search_files.py), on local disk


@dataclass
class GenerationWriter(ABC):
    """A generation being built: two collections, document texts and, last, its manifest.

    It becomes current only if the `with` block ends normally after `save_manifest`.
    """

    name: str
    base_manifest: dict[str, Any] | None  # the generation it started as a copy of
    chunks: Any  # chromadb Collection, filled with precomputed vectors (never embeds itself)
    sentences: Any
    manifest_saved: bool = field(default=False, init=False)
    cancelled: bool = field(default=False, init=False)

    @abstractmethod
    def save_text(self, source: str, text: str) -> str:
        """Keep a document's text; returns the reference the manifest records."""

    @abstractmethod
    def drop_text(self, ref: str) -> None:
        """Forget a document text saved earlier."""

    @abstractmethod
    def _write_manifest(self, manifest: dict[str, Any]) -> None: ...

    @abstractmethod
    def _save_search_files(self, manifest: dict[str, Any]) -> None:
        """Build the BM25 index and chunk table of the finished collections and keep them
        (`manifest`: what the generation will hold, written right after)."""

    def unchanged_sources(self, manifest: dict[str, Any]) -> set[str]:
        """The documents of `manifest` whose entries are those of the generation this one was
        copied from: not ingested again, so their chunks, vectors and search-file rows are the
        same (one ingested again keeps its chunk ids, but its vectors may differ in the last
        bits)."""
        before = (self.base_manifest or {}).get("documents", {})
        now = manifest.get("documents", {})
        return {source for source, entry in now.items() if before.get(source) == entry}

    def save_manifest(self, manifest: dict[str, Any]) -> None:
        """Record what the generation holds; required before it can become current."""
        self._save_search_files(manifest)
        self._write_manifest(manifest)
        self.manifest_saved = True

    def cancel(self) -> None:
        """Leave the current generation as it is and throw this one away."""
        self.cancelled = True

    @abstractmethod
    def close(self) -> None:
        """Release what writing needed (called before the generation is kept or dropped)."""


class Generations(ABC):
    """A family of generations plus the pointer to the current one."""

    url: str | None = None  # set for a Chroma server, whose outages become clear errors

    @abstractmethod
    def current(self) -> str | None:
        """Name of the current generation (None: nothing indexed yet)."""

    @abstractmethod
    def location(self, name: str) -> Any:
        """How callers refer to a generation (a folder, or a name on the server)."""

    @abstractmethod
    def manifest(self, name: str) -> dict[str, Any]:
        """A committed generation's manifest alone (cheap)."""

    @abstractmethod
    def open(self, name: str) -> OpenGeneration:
        """Open a committed generation for reading."""

    def search_files_version(self, name: str) -> str | None:
        """The version of the search files generation `name` holds (None: unknown, or none)."""
        return None

    @abstractmethod
    def release(self, generation: OpenGeneration) -> None:
        """Close what `open` opened."""

    @contextlib.contextmanager
    def writer(self, embeddings: Any, reset: bool) -> Iterator[GenerationWriter]:
        """A new generation (a copy of the current one unless `reset`); one writer at a time.

        It becomes current only if the `with` block ends normally after `save_manifest`; on an
        error or `cancel()` it is thrown away and the current generation stays as it was.
        """
        with self._exclusive() as name:
            writer = self._start(name, embeddings, reset)
            try:
                try:
                    yield writer
                finally:
                    writer.close()
                if not writer.cancelled and not writer.manifest_saved:
                    raise RuntimeError("a generation was finished without its manifest")
            except BaseException:
                self._discard(name)
                raise
            if writer.cancelled:
                self._discard(name)
            else:
                self._make_current(name)

    @abstractmethod
    def _exclusive(self) -> AbstractContextManager[str]:
        """Wait for other writers to finish, then hold them off; gives a fresh generation name
        (named once the wait is over, so names sort in the order writers start)."""

    @abstractmethod
    def _start(self, name: str, embeddings: Any, reset: bool) -> GenerationWriter:
        """Create generation `name`, copying the current one unless `reset`."""

    @abstractmethod
    def _discard(self, name: str) -> None:
        """Remove an unfinished or cancelled generation (best effort)."""

    @abstractmethod
    def _make_current(self, name: str) -> None:
        """Swap the pointer to the finished generation `name`, then remove old ones."""
