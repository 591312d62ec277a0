"""Generations as folders (embedded Chroma, texts, manifest) and a CURRENT file swapped atomically.

An ingest copies the current folder, changes the copy and only then repoints CURRENT, so a crash
(kill -9) at any moment leaves the previous index answering; the next ingest removes the debris.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from rag.generations.base import (
    MANIFEST,
    RETIRE_AFTER_S,
    Generations,
    GenerationWriter,
    OpenGeneration,
    text_ref,
)
from rag.generations.chroma import close_client, persistent_client, raw_collection
from rag.generations.search_files import SEARCH, is_complete, write_search_files

log = logging.getLogger(__name__)

CURRENT = "CURRENT"


def write_atomically(path: Path, content: str) -> None:
    """Write a file so readers see either the old or the new content, never half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass
class FolderWriter(GenerationWriter):
    """A generation folder being written."""

    path: Path = Path()
    client: Any = None  # the embedded Chroma of this folder

    def close(self) -> None:
        close_client(self.client)

    def save_text(self, source: str, text: str) -> str:
        ref = text_ref(source)
        (self.path / ref).parent.mkdir(exist_ok=True)
        (self.path / ref).write_text(text, encoding="utf-8")
        return ref

    def drop_text(self, ref: str) -> None:
        (self.path / ref).unlink(missing_ok=True)

    def _save_search_files(self, manifest: dict[str, Any]) -> None:
        # The folder was copied from the current generation (unless reset): its search files are
        # still that one's, and the documents this ingest left alone reuse their rows from there.
        folder = self.path / SEARCH
        kept = self.unchanged_sources(manifest)
        write_search_files(self.chunks, self.sentences, folder, reuse=folder, reuse_sources=kept)

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        write_atomically(self.path / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))


class FolderGenerations(Generations):
    """`gen-*` folders under one index folder."""

    def __init__(self, index_dir: Path, prefix: str = "documents") -> None:
        self.index_dir = Path(index_dir)
        self.chunk_collection = f"{prefix}_chunks"
        self.sentence_collection = f"{prefix}_sentences"

    def current(self) -> str | None:
        try:
            name = (self.index_dir / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name if name and (self.index_dir / name / MANIFEST).exists() else None

    def location(self, name: str) -> Path:
        return self.index_dir / name

    def manifest(self, name: str) -> dict[str, Any]:
        return json.loads((self.index_dir / name / MANIFEST).read_text(encoding="utf-8"))

    def search_files_version(self, name: str) -> str | None:
        try:
            return (self.index_dir / name / SEARCH / "version").read_text(encoding="utf-8")
        except OSError:
            return None

    def open(self, name: str) -> OpenGeneration:
        path = self.index_dir / name
        manifest = self.manifest(name)
        client = persistent_client(path / "chroma")
        if not is_complete(path / SEARCH):  # a generation written before search files existed
            log.info("writing the search files of %s once", name)
            write_search_files(
                raw_collection(client, self.chunk_collection),
                raw_collection(client, self.sentence_collection),
                path / SEARCH,
            )
        return OpenGeneration(
            name=name,
            client=client,
            manifest=manifest,
            read_text=lambda ref: (path / ref).read_text(encoding="utf-8"),
            chunk_collection=self.chunk_collection,
            sentence_collection=self.sentence_collection,
            search=path / SEARCH,
        )

    def release(self, generation: OpenGeneration) -> None:
        close_client(generation.client)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[str]:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(self.index_dir / ".lock"):  # one writer at a time; others wait here
            yield f"gen-{time.time_ns()}"

    def _start(self, name: str, embeddings: Any, reset: bool) -> GenerationWriter:
        current = self.current()
        self._remove_stale(keep={current})
        new = self.index_dir / name
        base_manifest = None
        if current is not None and not reset:
            started = time.perf_counter()
            shutil.copytree(self.index_dir / current, new)
            log.info("copied generation %s in %.2f s", current, time.perf_counter() - started)
            base_manifest = json.loads((new / MANIFEST).read_text(encoding="utf-8"))
        else:
            new.mkdir()
        client = persistent_client(new / "chroma")
        return FolderWriter(
            name=name,
            base_manifest=base_manifest,
            chunks=raw_collection(client, self.chunk_collection),
            sentences=raw_collection(client, self.sentence_collection),
            path=new,
            client=client,
        )

    def _discard(self, name: str) -> None:
        shutil.rmtree(self.index_dir / name, ignore_errors=True)

    def _make_current(self, name: str) -> None:
        previous = self.current()
        write_atomically(self.index_dir / CURRENT, name)
        self._remove_stale(keep={name, previous})

    def _remove_stale(self, keep: set[str | None]) -> None:
        """Delete generations nobody should read any more: crashed builds, and versions replaced
        more than RETIRE_AFTER_S ago (a question may still read one replaced just now, even when
        several ingests follow each other)."""
        built = sorted(self.index_dir.glob("gen-*"), key=lambda p: int(p.name[4:] or 0))
        finished: list[tuple[str, float]] = []  # (name, when its manifest was written)
        for path in built:
            with contextlib.suppress(OSError):
                finished.append((path.name, (path / MANIFEST).stat().st_mtime))
        # a version was replaced when the next finished build took over
        replaced_at = {older: at for (older, _), (_, at) in itertools.pairwise(finished)}
        for path in built:
            recent = time.time() - replaced_at.get(path.name, 0.0) < RETIRE_AFTER_S
            if path.name not in keep and not recent:
                shutil.rmtree(path, ignore_errors=True)
