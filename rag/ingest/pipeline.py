"""Incremental ingest: skip unchanged files, re-index changed ones, drop vanished ones."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.errors import BadInputError, NoDocumentsError
from rag.ingest.chunking import Chunk, split_into_chunks
from rag.ingest.embed_batches import EmbeddingBatcher
from rag.ingest.files import FoundFiles, Scope, find_files, from_elsewhere
from rag.ingest.loaders import SUPPORTED_SUFFIXES, SkipFile, load_document
from rag.store import IndexStore, embedded_with, indexed_with, other_dimension

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class IngestProgress:
    """Sent before each file is indexed: `done` of `total` files are indexed, `source` is next;
    or, with a `note`, before other work the ingest does (`source` empty)."""

    done: int
    total: int
    source: str
    note: str = ""


SEARCH_FILES_NOTE = "writing the index's search files in this release's version (once)"


ProgressCallback = Callable[[IngestProgress], None]


@dataclass
class Plan:
    """The difference between the files and the indexed documents."""

    summary: IngestSummary
    parsed: list[tuple[str, str, str, Any, list[Chunk]]]  # source, sha256, file, doc, chunks
    vanished: list[str]
    moved: dict[str, str] = field(default_factory=dict)  # unchanged, found elsewhere: its file
    # A PATH ingest needs every document's file on record (to know which it may remove), so a
    # move alone is written; a plain ingest doesn't, and writes nothing when nothing changed.
    record_moves: bool = False

    @property
    def nothing_to_do(self) -> bool:
        return not self.parsed and not self.vanished and not (self.moved and self.record_moves)


def plan_changes(
    found: FoundFiles, old_docs: dict[str, Any], chunk_chars: int, max_file_bytes: int
) -> Plan:
    """Hash every file, then parse and chunk only the new or changed ones."""
    summary = IngestSummary(skipped=list(found.refused))
    scope = found.scope
    origins = {origin for _, _, origin in found.files}
    digests: dict[str, str] = {}
    kept: set[str] = set()
    moved: dict[str, str] = {}
    to_index: list[tuple[str, Path, Path]] = []
    for source, path, origin in found.files:
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            summary.skipped.append(
                {"path": str(path), "reason": f"unsupported file type '{path.suffix}'"}
            )
            continue
        old = old_docs.get(source)
        holder = None if old is None else scope.name_holder(source, old, origins)
        if holder is not None:
            # an ingest never replaces a document indexed from another file
            kept.add(source)
            summary.skipped.append({"path": str(path), "reason": name_taken(source, holder, scope)})
            continue
        try:
            digests[source] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as err:
            summary.skipped.append({"path": str(path), "reason": f"unreadable: {err.strerror}"})
            continue
        if old is not None and old.get("sha256") == digests[source]:
            summary.unchanged += 1
            if old.get("path") != scope.recorded(origin):
                moved[source] = scope.recorded(origin)
        else:
            to_index.append((source, path, origin))
    vanished = [
        s
        for s, entry in old_docs.items()
        if s not in digests and s not in kept and scope.covers(scope.origin(s, entry))
    ]
    parsed = []
    for source, path, origin in to_index:
        try:
            doc = load_document(path, max_file_bytes)
        except SkipFile as err:
            log.warning("skipping %s: %s", path, err)
            summary.skipped.append({"path": str(path), "reason": str(err)})
            if source in old_docs:
                vanished.append(source)  # it was indexed but can't be read any more
            continue
        chunks = split_into_chunks(doc, source, chunk_chars)
        parsed.append((source, digests[source], scope.recorded(origin), doc, chunks))
    return Plan(summary, parsed, vanished, moved, record_moves=not scope.plain)


def name_taken(source: str, holder: Path, scope: Scope) -> str:
    """Why a file is skipped whose name a document indexed from `holder` keeps."""
    if scope.plain:
        return (
            f"'{source}' is indexed already, added by `rag ingest PATH` from {holder}: rename "
            f"this file, or first remove that document (`rag ingest --remove {source}`)"
        )
    if holder.is_relative_to(scope.docs):
        return (
            f"'{source}' is indexed already, from the documents folder ({holder}): rename this "
            "file (a plain `rag ingest` removes that document once its file is gone)"
        )
    return (
        f"'{source}' is indexed already, from {holder}: rename one, or ingest a folder that "
        "holds both (names are relative to it)"
    )


def embedded_texts(manifest: dict[str, Any]) -> str:
    """What an index sent through the model (`EMBED_MODES`); indexes made before the setting
    existed say so by their `sentence_vectors`: 'late', or 'own' (chunks and sentences)."""
    if "embed" in manifest:
        return str(manifest["embed"])
    return "chunks-late" if manifest.get("sentence_vectors") == "late" else "chunks-and-sentences"


def embed_mode(store: IndexStore, embed: str) -> str:
    """The mode ingest will use: late chunking needs a local model (a server returns no token
    vectors), so with a server it embeds chunks and sentences instead."""
    if embed == "chunks-late" and not store.embeddings.supports_late_chunking:
        return "chunks-and-sentences"
    return embed


def indexed_documents(
    store: IndexStore, reset: bool, embed: str = "chunks-and-sentences"
) -> tuple[dict[str, Any], bool]:
    """(documents of the current index, reset) — an index embedded otherwise is rebuilt."""
    manifest = None if reset else store.current_manifest()
    if manifest is None:
        return {}, reset
    was = [*indexed_with(manifest), embedded_texts(manifest)]
    now = [*embedded_with(store.embeddings), embed]
    dimension = other_dimension(manifest, store.embeddings)
    if dimension is not None:
        was.append(f"{dimension}-d")
        now.append(f"{store.embeddings.dimension}-d")
    if was != now:
        log.warning(
            "re-embedding every document: the index was built with %s, the setting is now %s",
            "/".join(was),
            "/".join(now),
        )
        return {}, True
    return dict(manifest["documents"]), False


def refuse_partial_rebuild(store: IndexStore, scope: Scope) -> None:
    """Stop a rebuild (the index was embedded another way) that would drop documents it
    cannot re-embed: those it does not find in the documents folder or under the PATHs."""
    if not scope.plain:
        raise BadInputError(
            "the index was embedded another way, so every document must be re-embedded: run "
            "`rag ingest` (the documents folder), or `rag ingest --reset PATH ...` to keep "
            "only the PATHs' documents"
        )
    indexed = (store.current_manifest() or {"documents": {}})["documents"]
    away = sorted(str(p) for e in indexed.values() if (p := from_elsewhere(e, scope.docs)))
    if away:
        raise BadInputError(
            f"the index was embedded another way, so every document must be re-embedded, "
            f"but it holds {len(away)} document(s) added by `rag ingest PATH` from elsewhere "
            f"({away[0]}{', …' if len(away) > 1 else ''}), which a plain ingest does not read: run "
            "`rag ingest --reset` (the documents folder alone), then `rag ingest PATH ...` "
            "for their folders; or set the embedding back as it was (nothing was changed)"
        )


def ingest(
    store: IndexStore,
    docs_dir: Path,
    paths: Iterable[Path] | None = None,
    chunk_chars: int = 700,
    max_file_bytes: int = 20_000_000,
    reset: bool = False,
    progress: ProgressCallback | None = None,
    embed: str = "chunks-and-sentences",
) -> IngestSummary:
    """Bring the documents folder's documents in the index in line with the folder, or add and
    update the files under `paths` (see `find_files`, `Scope`); documents added by PATH from
    elsewhere stay through a plain ingest.

    `embed` says what goes through the model (`EMBED_MODES`); the manifest records what was
    done, and an index embedded another way is rebuilt.
    """
    paths = None if paths is None else list(paths)
    files = find_files(docs_dir, paths)
    embed = embed_mode(store, embed)
    old_docs, rebuild = indexed_documents(store, reset, embed)
    if rebuild and not reset:
        refuse_partial_rebuild(store, files.scope)
    reset = rebuild
    plan = plan_changes(files, old_docs, chunk_chars, max_file_bytes)
    upgrade = bool(old_docs) and not reset and store.search_files_outdated()
    if upgrade and progress is not None:
        progress(IngestProgress(0, len(plan.parsed), "", note=SEARCH_FILES_NOTE))
    if plan.nothing_to_do and not reset and old_docs and not upgrade:
        plan.summary.chunks = sum(d["chunks"] for d in old_docs.values())
        return plan.summary
    if not plan.parsed and not old_docs:
        raise NoDocumentsError(
            "no documents to index: put .txt, .md, .html or .pdf files in "
            + ", ".join(str(p) for p in paths or [docs_dir])
        )
    with store.writer(reset=reset) as generation:
        base = dict(generation.base_manifest["documents"]) if generation.base_manifest else {}
        if base != old_docs:  # another ingest finished while this one waited for the lock
            old_docs = base
            # look at the folder again: a file written meanwhile (an upload) is in `base`, and
            # would count as vanished against the earlier listing
            files = find_files(docs_dir, paths)
            plan = plan_changes(files, old_docs, chunk_chars, max_file_bytes)
            if plan.nothing_to_do and old_docs and not upgrade:
                generation.cancel()
                plan.summary.chunks = sum(d["chunks"] for d in old_docs.values())
                return plan.summary
        batcher = EmbeddingBatcher(
            store.embeddings, generation.chunks, generation.sentences, embed=embed
        )
        docs = apply_plan(generation, plan, old_docs, batcher, progress)
        manifest = {
            "version": 1,
            "embedding_model": store.embeddings.name,
            "embedding_backend": store.embeddings.backend,
            "embedding_dim": store.embeddings.dimension,
            "embed": embed,
            "sentence_vectors": "late" if embed == "chunks-late" else "own",
            "documents": docs,
        }
        generation.save_manifest(manifest)
    plan.summary.chunks = sum(d["chunks"] for d in docs.values())
    return plan.summary


def apply_plan(
    generation: Any,
    plan: Plan,
    old_docs: dict[str, Any],
    batcher: EmbeddingBatcher,
    progress: ProgressCallback | None,
) -> dict[str, Any]:
    """Write the plan into a new generation; returns the manifest's documents."""
    summary = plan.summary
    docs = dict(old_docs)
    drop_documents(generation, [s for s, *_ in plan.parsed if s in old_docs], docs, texts=False)
    drop_documents(generation, plan.vanished, docs)
    summary.removed = len(plan.vanished)
    ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
    for source, origin in plan.moved.items():
        docs[source] = {**docs[source], "path": origin}
    for done, (source, digest, origin, doc, chunks) in enumerate(plan.parsed):
        if progress:
            progress(IngestProgress(done, len(plan.parsed), source))
        batcher.add(chunks)
        text_file = generation.save_text(source, doc.text)
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
            "ingested_at": ingested_at,
            "path": origin,
        }
    batcher.flush()
    return docs


def drop_documents(
    generation: Any, sources: list[str], docs: dict[str, Any], texts: bool = True
) -> None:
    """Delete the documents' chunks and sentences (and, with `texts`, their texts) from the
    generation, and their entries from `docs`."""
    for source in sources:
        generation.chunks.delete(where={"source": source})
        generation.sentences.delete(where={"source": source})
        if texts and source in docs:
            generation.drop_text(docs[source]["text_file"])
        docs.pop(source, None)


def remove_documents(store: IndexStore, docs_dir: Path, names: Iterable[str]) -> IngestSummary:
    """Remove the named documents added by PATH from outside the documents folder
    (`rag ingest --remove`): the way out for those whose folder is gone. A document of the
    documents folder is refused: it goes when its file is deleted there."""
    names = list(dict.fromkeys(names))
    docs = docs_dir.resolve()
    indexed = (store.current_manifest() or {"documents": {}})["documents"]
    for name in names:
        if name not in indexed:
            raise BadInputError(
                f"no document '{name}' in the index (names as in citations; nothing was removed)"
            )
        if from_elsewhere(indexed[name], docs) is None:
            raise BadInputError(
                f"'{name}' is from the documents folder {docs}: delete its file there and run "
                "`rag ingest` (nothing was removed)"
            )
    summary = IngestSummary()
    with store.writer() as generation:
        base = generation.base_manifest or {"documents": {}}
        kept = dict(base["documents"])
        gone = [name for name in names if name in kept]  # another ingest may have removed some
        if not gone:
            generation.cancel()
        else:
            drop_documents(generation, gone, kept)
            generation.save_manifest({**base, "documents": kept})
    summary.removed = len(gone)
    summary.chunks = sum(d["chunks"] for d in kept.values())
    return summary
