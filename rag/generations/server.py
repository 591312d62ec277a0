"""Generations on a Chroma server, so every replica sees the same index.

A generation is a set of collections named `<prefix>-<gen>-{chunks,sentences,texts}`; the texts
collection also holds the manifest. The `<prefix>-meta` collection holds the CURRENT pointer (one
row, swapped by a single upsert) and one row per running ingest (host, pid, heartbeat), so a crashed
build is recognised and removed by the next ingest. Small collections get a constant 1-d vector:
Chroma's default embedding function never runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.generations.base import MANIFEST, Generations, GenerationWriter, OpenGeneration, text_ref
from rag.generations.chroma import (
    copy_collection,
    guarded,
    http_client,
    raw_collection,
    vector_store,
)

log = logging.getLogger(__name__)

POINTER = "CURRENT"
TEXT_PART = 4_000_000  # characters per row: keeps each request body small
HEARTBEAT_S = 20.0
STALE_AFTER_S = 300.0  # a writer on another host that stopped beating this long ago is dead
WAIT_FOR_WRITER_S = 1800.0
KINDS = ("chunks", "sentences", "texts")
UNIT = [[1.0]]


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

    def save_text(self, source: str, text: str) -> str:
        ref = text_ref(source)
        _write_text(self.texts, ref, text)
        if self.beat is not None:
            self.beat()
        return ref

    def drop_text(self, ref: str) -> None:
        self.texts.delete(where={"ref": ref})

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        _write_text(self.texts, MANIFEST, json.dumps(manifest, sort_keys=True))


def _is_alive(record: dict[str, Any]) -> bool:
    """Whether the ingest that wrote this record may still be running."""
    if record.get("host") == socket.gethostname():
        try:
            os.kill(int(record.get("pid", 0)), 0)
        except ProcessLookupError:
            return False
        except (PermissionError, OverflowError, ValueError):
            return True
        return True
    return time.time() - float(record.get("heartbeat", 0)) < STALE_AFTER_S


class ServerGenerations(Generations):
    """Generations kept in a Chroma server reached over HTTP."""

    def __init__(self, url: str, prefix: str = "documents") -> None:
        self.url = url
        self.server = url
        self.prefix = prefix
        self._client: Any = None
        self._meta: Any = None

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
            )

        return guarded(self.url, connect)

    def release(self, generation: OpenGeneration) -> None:
        """Nothing to close: the HTTP client is shared."""

    @contextlib.contextmanager
    def writer(self, embeddings: Any, reset: bool) -> Iterator[GenerationWriter]:
        with self._local_lock():
            name = f"g{time.time_ns()}"
            guarded(self.url, lambda: self._register(name))
            try:
                writer = guarded(self.url, lambda: self._start(name, embeddings, reset))
                try:
                    yield writer
                    if not writer.cancelled and not writer.manifest_saved:
                        raise RuntimeError("a generation was finished without its manifest")
                except BaseException:
                    self._drop_quietly(name)
                    raise
                if writer.cancelled:
                    self._drop_quietly(name)
                    return
                guarded(self.url, lambda: self._commit(name, writer))
            finally:
                with contextlib.suppress(Exception):
                    self.meta().delete(ids=[f"writer:{name}"])

    def _start(self, name: str, embeddings: Any, reset: bool) -> ServerWriter:
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
            chunks=vector_store(client, self.collection_name(name, "chunks"), embeddings),
            sentences=vector_store(client, self.collection_name(name, "sentences"), embeddings),
            texts=collections["texts"],
            beat=self._heartbeat(name),
        )

    def _commit(self, name: str, writer: ServerWriter) -> None:
        previous = self.current()
        # The swap: one upsert of one row; readers see the old or the new name, nothing between.
        self.meta().upsert(ids=[POINTER], embeddings=UNIT, documents=[name])
        log.info("generation %s is current (was %s)", name, previous)
        self._remove_stale(keep={name, previous})

    # --- one writer at a time, and crashed writers cleaned up ---

    @contextlib.contextmanager
    def _local_lock(self) -> Iterator[None]:
        """Writers on this host queue on a lock file (writers elsewhere: see `_register`)."""
        key = hashlib.sha256(f"{self.url}|{self.prefix}".encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"rag-news-{key}.lock"
        with path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _writer_record(self, name: str) -> dict[str, Any]:
        now = time.time()
        return {
            "kind": "writer",
            "generation": name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": now,
            "heartbeat": now,
        }

    def _register(self, name: str) -> None:
        """Announce this writer, then wait while an earlier-registered live writer runs."""
        meta = self.meta()
        meta.upsert(ids=[f"writer:{name}"], embeddings=UNIT, metadatas=[self._writer_record(name)])
        deadline = time.monotonic() + WAIT_FOR_WRITER_S
        while True:
            others = [
                r
                for r in self._writers()
                if r["generation"] != name and _is_alive(r) and r["generation"] < name
            ]
            if not others:
                return
            if time.monotonic() > deadline:
                meta.delete(ids=[f"writer:{name}"])
                first = others[0]
                raise RagError(
                    f"another ingest is still running (pid {first.get('pid')} on "
                    f"{first.get('host')}); try again when it has finished"
                )
            log.info("waiting for the ingest of generation %s to finish", others[0]["generation"])
            time.sleep(0.5)

    def _writers(self) -> list[dict[str, Any]]:
        rows = self.meta().get(where={"kind": "writer"}, include=["metadatas"])
        return [dict(m) for m in rows["metadatas"] if m]

    def _heartbeat(self, name: str) -> Any:
        last = [time.monotonic()]

        def beat() -> None:
            if time.monotonic() - last[0] >= HEARTBEAT_S:
                last[0] = time.monotonic()
                record = self._writer_record(name)
                self.meta().upsert(ids=[f"writer:{name}"], embeddings=UNIT, metadatas=[record])

        return beat

    def _generations_on_server(self) -> set[str]:
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
        live = {r["generation"] for r in self._writers() if _is_alive(r)}
        for generation in self._generations_on_server() - keep - live:
            self._drop(generation)
            log.info("removed old generation %s", generation)
        dead = [r["generation"] for r in self._writers() if not _is_alive(r)]
        if dead:
            self.meta().delete(ids=[f"writer:{g}" for g in dead])

    def drop_all(self) -> None:
        """Delete every generation of this prefix and its pointer (benchmarks clean up)."""
        for generation in self._generations_on_server():
            self._drop(generation)
        self.client().delete_collection(f"{self.prefix}-meta")
        self._meta = None

    def _drop(self, name: str) -> None:
        for kind in KINDS:
            with contextlib.suppress(Exception):  # a half-created generation lacks some
                self.client().delete_collection(self.collection_name(name, kind))

    def _drop_quietly(self, name: str) -> None:
        """Best effort after a failure: if the server is down, the next ingest cleans up."""
        try:
            self._drop(name)
        except Exception:
            log.warning("could not remove unfinished generation %s yet", name, exc_info=True)
