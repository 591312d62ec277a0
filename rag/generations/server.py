"""Generations on a Chroma server, so every replica sees the same index.

A generation is a set of collections named `<prefix>-<gen>-{chunks,sentences,texts}`; the texts
collection also holds the manifest. The `<prefix>-meta` collection holds the CURRENT pointer (one
row, swapped by a single upsert) and one row per running ingest (host, pid, heartbeat), so a crashed
build is recognised and removed by the next ingest. Small collections get a constant 1-d vector:
Chroma's default embedding function never runs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.embeddings.cache import default_cache_dir
from rag.generations.base import MANIFEST, Generations, GenerationWriter, OpenGeneration, text_ref
from rag.generations.chroma import (
    copy_collection,
    guarded,
    http_client,
    raw_collection,
)
from rag.generations.search_files import (
    FOR_THE_NEXT_WRITER,
    SEARCH,
    is_complete,
    write_search_files,
)
from rag.generations.server_writers import UNIT, WriterRegistry

log = logging.getLogger(__name__)

POINTER = "CURRENT"
TEXT_PART = 4_000_000  # characters per row: keeps each request body small
KINDS = ("chunks", "sentences", "texts")
SEARCH_BLOB = "search.zip"  # the search files, zipped and base64-encoded, in the texts collection
NEXT_WRITER_BLOB = "search-next-writer.zip"  # the files only the next writer reads (not replicas)
TABLE_DIGEST = "chunk_ids.sha256"  # in that blob: the chunk table it belongs to
KEEP_CACHED = 3  # generations whose search files a host keeps (a swap needs two)


def pack(folder: Path, keep: Callable[[str], bool] = lambda name: True) -> str:
    """A folder's files (those whose relative names `keep`) as a base64 zip (Chroma rows hold
    text)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if path.is_file() and keep(name):
                archive.write(path, name)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _table_digest(search: Path) -> str:
    return hashlib.sha256((search / "chunk_ids.npy").read_bytes()).hexdigest()


def unpack(blob: str, folder: Path) -> None:
    """Unzip a `pack`ed folder into `folder`; a replica unpacking the same one at once is fine."""
    tmp = folder.with_name(f".{folder.name}.{time.time_ns()}.tmp")
    try:
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(blob))) as archive:
            archive.extractall(tmp)
        if not is_complete(folder):
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
    except OSError:
        if not is_complete(folder):
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _plain_collection(client: Any, name: str) -> Any:
    return client.get_or_create_collection(name, embedding_function=None)


def _read_text(collection: Any, ref: str) -> str:
    rows = collection.get(where={"ref": ref}, include=["documents", "metadatas"])
    parts = sorted(
        zip(rows["metadatas"], rows["documents"], strict=True), key=lambda r: r[0]["part"]
    )
    if not parts:
        raise KeyError(ref)
    return "".join(text for _, text in parts)


def _write_text(collection: Any, ref: str, text: str) -> None:
    collection.delete(where={"ref": ref})
    pieces = [text[i : i + TEXT_PART] for i in range(0, len(text), TEXT_PART)] or [""]
    collection.add(
        ids=[f"{ref}#{i}" for i in range(len(pieces))],
        embeddings=UNIT * len(pieces),
        documents=pieces,
        metadatas=[{"ref": ref, "part": i} for i in range(len(pieces))],
    )


@dataclass
class ServerWriter(GenerationWriter):
    """A generation being written on the server."""

    texts: Any = None
    beat: Any = None  # callable that refreshes this writer's heartbeat

    def close(self) -> None:
        """Nothing to release: the HTTP client is shared."""

    def save_text(self, source: str, text: str) -> str:
        ref = text_ref(source)
        _write_text(self.texts, ref, text)
        if self.beat is not None:
            self.beat()
        return ref

    def drop_text(self, ref: str) -> None:
        self.texts.delete(where={"ref": ref})

    def _save_search_files(self, manifest: dict[str, Any]) -> None:
        kept = self.unchanged_sources(manifest)
        with tempfile.TemporaryDirectory(prefix="rag-search-") as tmp:
            previous, search = Path(tmp) / "previous", Path(tmp) / SEARCH
            if kept:
                self._previous_search_files(previous)
            # No sentence vectors: replicas fetch them per question (the server holds them).
            write_search_files(
                self.chunks,
                self.sentences,
                search,
                vectors=False,
                reuse=previous,
                reuse_sources=kept,
            )
            for_replicas = pack(search, lambda name: name not in FOR_THE_NEXT_WRITER)
            _write_text(self.texts, SEARCH_BLOB, for_replicas)
            (search / TABLE_DIGEST).write_text(_table_digest(search), encoding="utf-8")
            for_writer = pack(search, lambda name: name in (*FOR_THE_NEXT_WRITER, TABLE_DIGEST))
            _write_text(self.texts, NEXT_WRITER_BLOB, for_writer)

    def _previous_search_files(self, folder: Path) -> None:
        """Unpack the search files this generation was copied with (still in its texts
        collection) into `folder`, with what only a writer reads if it belongs to them."""
        try:
            unpack(_read_text(self.texts, SEARCH_BLOB), folder)
            blob = _read_text(self.texts, NEXT_WRITER_BLOB)
        except KeyError:  # written before search files, or before the next writer's blob
            return
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(blob))) as archive:
            # An older writer may have replaced the search files and left this blob behind.
            if archive.read(TABLE_DIGEST).decode() == _table_digest(folder):
                archive.extractall(folder)

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        _write_text(self.texts, MANIFEST, json.dumps(manifest, sort_keys=True))


class ServerGenerations(Generations):
    """Generations kept in a Chroma server reached over HTTP."""

    def __init__(self, url: str, prefix: str = "documents", cache_dir: Path | None = None) -> None:
        self.url = url
        self.server = url
        self.prefix = prefix
        self._client: Any = None
        self._meta: Any = None
        self.writers = WriterRegistry(url, prefix, self.meta)
        key = hashlib.sha256(f"{url}|{prefix}".encode()).hexdigest()[:16]
        # Each replica keeps the search files of the generations it opened on its own disk.
        self.search_cache = (cache_dir or default_cache_dir()) / "search" / key

    def client(self) -> Any:
        """The HTTP client, (re)connected on demand so a server restart needs no restart here."""
        if self._client is None:
            self._client = http_client(self.server)
        return self._client

    def meta(self) -> Any:
        if self._meta is None:
            self._meta = guarded(
                self.url, lambda: _plain_collection(self.client(), f"{self.prefix}-meta")
            )
        return self._meta

    def collection_name(self, generation: str, kind: str) -> str:
        return f"{self.prefix}-{generation}-{kind}"

    def current(self) -> str | None:
        def read() -> str | None:
            rows = self.meta().get(ids=[POINTER], include=["documents"])
            return rows["documents"][0] if rows["ids"] else None

        try:
            return guarded(self.url, read)
        except Exception:
            self._meta = None  # e.g. the server was wiped: look the collection up again next time
            raise

    def location(self, name: str) -> str:
        return name

    def manifest(self, name: str) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            texts = self.client().get_collection(
                self.collection_name(name, "texts"), embedding_function=None
            )
            return json.loads(_read_text(texts, MANIFEST))

        return guarded(self.url, read)

    def open(self, name: str) -> OpenGeneration:
        def connect() -> OpenGeneration:
            client = self.client()
            texts = client.get_collection(
                self.collection_name(name, "texts"), embedding_function=None
            )
            manifest = json.loads(_read_text(texts, MANIFEST))
            return OpenGeneration(
                name=name,
                client=client,
                manifest=manifest,
                read_text=lambda ref: guarded(self.url, lambda: _read_text(texts, ref)),
                chunk_collection=self.collection_name(name, "chunks"),
                sentence_collection=self.collection_name(name, "sentences"),
                search=self._local_search_files(name, texts),
            )

        return guarded(self.url, connect)

    def release(self, generation: OpenGeneration) -> None:
        """Nothing to close: the HTTP client is shared."""

    def _local_search_files(self, name: str, texts: Any) -> Path:
        """The generation's search files in this host's cache: downloaded once per generation
        (or, for a generation written before they existed, built once from its collections)."""
        folder = self.search_cache / name
        if is_complete(folder):
            return folder
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            blob = _read_text(texts, SEARCH_BLOB)
        except KeyError:
            log.info("generation %s has no search files: building them here once", name)
            client = self.client()
            write_search_files(
                client.get_collection(
                    self.collection_name(name, "chunks"), embedding_function=None
                ),
                client.get_collection(
                    self.collection_name(name, "sentences"), embedding_function=None
                ),
                folder,
                vectors=False,
            )
        else:
            unpack(blob, folder)
        for old in sorted(self.search_cache.glob("g*"))[:-KEEP_CACHED]:  # oldest first
            shutil.rmtree(old, ignore_errors=True)
        return folder

    def _exclusive(self) -> contextlib.AbstractContextManager[str]:
        return self.writers.hold()

    def _start(self, name: str, embeddings: Any, reset: bool) -> GenerationWriter:
        return guarded(self.url, lambda: self._create(name, embeddings, reset))

    def _create(self, name: str, embeddings: Any, reset: bool) -> ServerWriter:
        current = self.current()
        self._remove_stale(keep={current, name})
        client = self.client()
        collections = {
            kind: raw_collection(client, self.collection_name(name, kind)) for kind in KINDS
        }
        base_manifest = None
        if current is not None and not reset:
            for kind in KINDS:
                source = client.get_collection(
                    self.collection_name(current, kind), embedding_function=None
                )
                copied = copy_collection(source, collections[kind])
                log.info("copied %d %s of generation %s", copied, kind, current)
            base_manifest = json.loads(_read_text(collections["texts"], MANIFEST))
        return ServerWriter(
            name=name,
            base_manifest=base_manifest,
            chunks=collections["chunks"],
            sentences=collections["sentences"],
            texts=collections["texts"],
            beat=self.writers.heartbeat(name),
        )

    def _make_current(self, name: str) -> None:
        def swap() -> None:
            previous = self.current()
            # The swap: one upsert of one row; readers see the old or the new name only.
            self.meta().upsert(ids=[POINTER], embeddings=UNIT, documents=[name])
            log.info("generation %s is current (was %s)", name, previous)
            self._remove_stale(keep={name, previous})

        guarded(self.url, swap)

    def _discard(self, name: str) -> None:
        """Best effort after a failure: if the server is down, the next ingest cleans up."""
        try:
            self._drop(name)
        except Exception:
            log.warning("could not remove unfinished generation %s yet", name, exc_info=True)

    def generations_on_server(self) -> set[str]:
        """Names of the generations of this prefix on the server (finished or not)."""
        names = [c if isinstance(c, str) else c.name for c in self.client().list_collections()]
        start = f"{self.prefix}-"
        found = set()
        for collection in names:
            if collection.startswith(start) and collection.rsplit("-", 1)[-1] in KINDS:
                generation = collection[len(start) :].rsplit("-", 1)[0]
                if generation.startswith("g") and generation[1:].isdigit():
                    found.add(generation)
        return found

    def _remove_stale(self, keep: set[str | None]) -> None:
        """Delete generations nobody reads any more: older versions and crashed builds."""
        live = self.writers.live_generations()
        for generation in self.generations_on_server() - keep - live:
            self._drop(generation)
            log.info("removed old generation %s", generation)
        self.writers.forget_dead()

    def drop_all(self) -> None:
        """Delete every generation of this prefix and its pointer (benchmarks clean up)."""
        for generation in self.generations_on_server():
            self._drop(generation)
        self.client().delete_collection(f"{self.prefix}-meta")
        self._meta = None

    def _drop(self, name: str) -> None:
        for kind in KINDS:
            with contextlib.suppress(Exception):  # a half-created generation lacks some
                self.client().delete_collection(self.collection_name(name, kind))
