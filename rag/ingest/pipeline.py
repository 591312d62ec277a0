"""Incremental ingest: skip unchanged files, re-index changed ones, drop vanished ones."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import NoDocumentsError
from rag.ingest.chunking import Chunk, split_into_chunks
from rag.ingest.loaders import SUPPORTED_SUFFIXES, SkipFile, load_document
from rag.store import MANIFEST, IndexStore, write_atomically

log = logging.getLogger(__name__)

BATCH = 1000  # well under Chroma's max batch size (5,461)


@dataclass
class IngestSummary:
    """What one ingest run did, per file; `chunks` is the index's total afterwards."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_files(paths: Iterable[Path]) -> list[tuple[str, Path]]:
    """(source name, path) of every non-hidden file under `paths`, sorted; names are relative."""
    found: dict[str, Path] = {}
    for root in paths:
        root = Path(root)
        if root.is_file():
            found[root.name] = root
            continue
        if not root.is_dir():
            raise NoDocumentsError(f"no such file or folder: {root}")
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and not any(p.startswith(".") for p in relative.parts):
                found[relative.as_posix()] = path
    return sorted(found.items())


def ingest(
    store: IndexStore,
    paths: Iterable[Path],
    chunk_chars: int = 700,
    max_file_bytes: int = 20_000_000,
    reset: bool = False,
    progress: Callable[[str], None] | None = None,
) -> IngestSummary:
    """Bring the index in line with the files under `paths`."""
    files = find_files(paths)
    summary = IngestSummary()
    current = store.current_generation()
    old_docs: dict[str, Any] = {}
    if current is not None and not reset:
        old_docs = json.loads((current / MANIFEST).read_text(encoding="utf-8"))["documents"]

    digests: dict[str, str] = {}
    to_index: list[tuple[str, Path]] = []
    for source, path in files:
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            summary.skipped.append(
                {"path": str(path), "reason": f"unsupported file type '{path.suffix}'"}
            )
            continue
        try:
            digests[source] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as err:
            summary.skipped.append({"path": str(path), "reason": f"unreadable: {err.strerror}"})
            continue
        if old_docs.get(source, {}).get("sha256") == digests[source]:
            summary.unchanged += 1
        else:
            to_index.append((source, path))
    vanished = [s for s in old_docs if s not in digests]

    parsed: list[tuple[str, str, Any, list[Chunk]]] = []
    for source, path in to_index:
        try:
            doc = load_document(path, max_file_bytes)
        except SkipFile as err:
            log.warning("skipping %s: %s", path, err)
            summary.skipped.append({"path": str(path), "reason": str(err)})
            if source in old_docs:
                vanished.append(source)  # it was indexed but can't be read any more
            continue
        parsed.append((source, digests[source], doc, split_into_chunks(doc, source, chunk_chars)))

    if not parsed and not vanished and not reset and current is not None:
        summary.chunks = sum(d["chunks"] for d in old_docs.values())
        return summary
    if not parsed and not old_docs and not vanished:
        raise NoDocumentsError(
            "no documents to index: put .txt, .md, .html or .pdf files in "
            + ", ".join(str(p) for p in paths)
        )

    with store.writer(reset=reset) as generation:
        client, chunk_store, sentence_store = store.open_for_writing(generation)
        try:
            docs = dict(old_docs)
            for source in [s for s, *_ in parsed if s in old_docs] + vanished:
                chunk_store.delete(where={"source": source})
                sentence_store.delete(where={"source": source})
                docs.pop(source, None)
            summary.removed = len(vanished)
            texts_dir = generation / "texts"
            texts_dir.mkdir(exist_ok=True)
            for number, (source, digest, doc, chunks) in enumerate(parsed, 1):
                if progress:
                    progress(f"[{number}/{len(parsed)}] {source}")
                _add_chunks(chunk_store, sentence_store, chunks)
                text_file = f"texts/{hashlib.sha256(source.encode()).hexdigest()[:24]}.txt"
                (generation / text_file).write_text(doc.text, encoding="utf-8")
                if source in old_docs:
                    summary.updated += 1
                else:
                    summary.added += 1
                docs[source] = {
                    "sha256": digest,
                    "title": doc.title,
                    "chunks": len(chunks),
                    "chars": len(doc.text),
                    "text_file": text_file,
                }
            manifest = {"version": 1, "embedding_model": store.embeddings.name, "documents": docs}
            write_atomically(generation / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        finally:
            store.close_client(client)
    summary.chunks = sum(d["chunks"] for d in docs.values())
    return summary


def _add_chunks(chunk_store: Any, sentence_store: Any, chunks: list[Chunk]) -> None:
    """Embed and store chunks and their sentences (sentences score answers at question time)."""
    rows = [
        (
            c.chunk_id,
            c.text,
            {
                "source": c.source,
                "title": c.title,
                "section": c.section,
                "start": c.start,
                "end": c.end,
            },
        )
        for c in chunks
    ]
    sentence_rows = []
    for c in chunks:
        for i, (start, end) in enumerate(c.sentences):
            text = c.text[start - c.start : end - c.start]
            meta = {"chunk_id": c.chunk_id, "source": c.source, "start": start, "end": end}
            sentence_rows.append((f"{c.chunk_id}:{i}", text, meta))
    for store, items in ((chunk_store, rows), (sentence_store, sentence_rows)):
        for i in range(0, len(items), BATCH):
            batch = items[i : i + BATCH]
            store.add_texts(
                texts=[t for _, t, _ in batch],
                metadatas=[m for *_, m in batch],
                ids=[i for i, *_ in batch],
            )
