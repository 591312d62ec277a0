"""Per-generation search files: the BM25 index and the chunk table, memory-mapped when read.

Written once per generation at ingest (and, for a generation made before they existed, once by
the first reader), so a replica never tokenises or downloads every chunk. The table lists the
chunks in the BM25 index's row order (Chroma's, as before the files existed, so ties rank the
same): each chunk's id, its article, its start and its number of sentences (sentence `i` of chunk
`c` has the id `c:i`), plus the rows in (article, start) order: what finding a chunk's sentences,
an article's chunks and a sentence's neighbours needs. With the chunks' terms kept beside the BM25
index, the next generation takes all this for the articles it leaves alone from here, and reads
and tokenises only the chunks of the articles it ingests. An embedded generation also keeps each
sentence's terms and facts (rag/answer/facts.py), what a question would otherwise work out anew
for every sentence it scores, and each chunk's metadata: with the article texts kept beside the
generation, a question then reads its chunks without asking Chroma for them.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer import facts
from rag.generations.chroma import get_all
from rag.lexical import OFFSETS, TERMS, VOCABULARY, ChunkTerms, LexicalIndex, TermCollector

log = logging.getLogger(__name__)

SEARCH = "search"  # the folder's name inside a generation
# 3: the chunks' starts and terms, so the next generation reuses them; 4: the sentences' facts
# and the chunks' metadata (embedded generations)
VERSION = "4"
READABLE = ("2", "3", VERSION)  # older folders read the same (facts worked out per question)
# What only the next generation's writer reads (a reader never does): server mode keeps these out
# of the files every replica downloads.
FOR_THE_NEXT_WRITER = (
    *(f"bm25/{name}" for name in (TERMS, OFFSETS, VOCABULARY)),
    "chunk_starts.npy",
)
FACTS, FACT_OFFSETS = "sentence_facts.bin", "sentence_facts.npy"  # one `facts.encode` each
CHUNK_META, CHUNK_META_OFFSETS = "chunk_meta.bin", "chunk_meta.npy"  # one JSON object each
NEW_CHUNKS_PER_READ = 500  # chunk ids per request for the chunks and sentences not reused


def write_search_files(
    chunks: Any,
    sentences: Any,
    folder: Path,
    vectors: bool = True,
    reuse: Path | None = None,
    reuse_sources: Collection[str] = (),
) -> None:
    """Build the search files of the generation whose Chroma collections are given.

    With `vectors` (embedded generations) the sentences' vectors and offsets are written too, so a
    reader never opens the sentence collection: embedded Chroma loads a collection's whole vector
    index on its first read. Written into a sibling temporary folder first and renamed, so
    readers never see half of it. `reuse`: the search files of the generation this one was copied
    from, whose chunks of `reuse_sources` (documents this generation did not ingest again) keep
    what it holds of them: place, terms, sentences. Only the other chunks are read from Chroma,
    and the files are the same as if every chunk had been.
    """
    started = time.perf_counter()
    old = SearchIndex.open(reuse) if reuse is not None and is_complete(reuse) else None
    # Older files hold no facts or metadata: the chunks reused need their texts read again.
    older = old is not None and (old.sentence_facts is None or old.chunk_meta is None)
    every_text = vectors and older
    table = _chunk_table(chunks, old, set(reuse_sources), every_text)
    ids = table.ids
    embedded = None
    stored_facts: list[bytes] = []
    chunk_meta: list[bytes] = []
    if not vectors:
        counts = _sentence_counts(sentences, table, old)
    else:
        if reuse is not None and old is not None and (table.previous_rows >= 0).any():
            embedded = _sentences_reusing(reuse, old, table, sentences)
        else:
            every = get_all(sentences, ["embeddings", "metadatas"])
            embedded = _Sentences.of_rows(ids, every)
        counts = np.diff(embedded.offsets).astype(np.int32)
        stored_facts = _sentence_facts(table, embedded, old)
        chunk_meta = _chunk_meta(table, old)
    sources = sorted(set(table.sources))
    position = {source: i for i, source in enumerate(sources)}
    source_of = np.asarray([position[source] for source in table.sources], dtype=np.int32)
    starts = table.starts
    in_articles = sorted(range(len(ids)), key=lambda r: (source_of[r], starts[r]))
    tmp = folder.with_name(f".{folder.name}.{time.time_ns()}.tmp")
    tmp.mkdir(parents=True)
    try:
        LexicalIndex.of_terms(table.terms).save(tmp / "bm25")
        encoded = np.array([i.encode() for i in ids], dtype=bytes) if ids else np.zeros(0, "S1")
        np.save(tmp / "chunk_ids.npy", encoded)
        by_id = np.argsort(encoded, kind="stable")
        np.save(tmp / "sorted_ids.npy", encoded[by_id])
        np.save(tmp / "sorted_rows.npy", by_id.astype(np.int32))
        np.save(tmp / "source_of.npy", source_of)
        np.save(tmp / "chunk_starts.npy", starts)
        np.save(tmp / "article_rows.npy", np.asarray(in_articles, dtype=np.int32))
        np.save(tmp / "article_sources.npy", source_of[in_articles])
        np.save(tmp / "sentences.npy", counts)
        (tmp / "sources.json").write_text(json.dumps(sources), encoding="utf-8")
        if embedded is not None:
            embedded.save(tmp)
            _save_pieces(stored_facts, tmp / FACTS, tmp / FACT_OFFSETS)
            _save_pieces(chunk_meta, tmp / CHUNK_META, tmp / CHUNK_META_OFFSETS)
        (tmp / "version").write_text(VERSION, encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info(
        "search files of %d chunks (%d read from Chroma) in %.2f s",
        len(ids),
        table.read,
        time.perf_counter() - started,
    )


@dataclass
class _ChunkTable:
    """The chunks in Chroma's order: id, article, start and terms, and where the previous
    generation's files hold each (-1: nowhere, or its document was ingested again)."""

    ids: list[str]
    sources: list[str]
    starts: np.ndarray  # int64
    terms: ChunkTerms
    previous_rows: np.ndarray  # int64
    read: int  # chunks whose text was read from Chroma
    fetched: dict[str, tuple[str, dict[str, Any]]]  # their texts and metadata, by id


def _chunk_table(
    chunks: Any, old: SearchIndex | None, keep: set[str], every_text: bool = False
) -> _ChunkTable:
    """The table, read from Chroma but for the chunks `old` holds of the articles in `keep`
    (`every_text`: read them all)."""
    old_terms = old.lexical.terms if old is not None else None
    if old is None or old.chunk_starts is None or old_terms is None or not keep or every_text:
        rows = get_all(chunks, ["documents", "metadatas"])
        ids = [str(i) for i in rows["ids"]]
        every = [text or "" for text in rows["documents"]]
        collector = TermCollector()
        for text in every:
            collector.add_text(text)
        return _ChunkTable(
            ids=ids,
            sources=[str(m["source"]) for m in rows["metadatas"]],
            starts=np.asarray([int(m["start"]) for m in rows["metadatas"]], dtype=np.int64),
            terms=collector.finish(),
            previous_rows=_previous_rows(old, ids, keep),
            read=len(ids),
            fetched=dict(zip(ids, zip(every, rows["metadatas"], strict=True), strict=True)),
        )
    # Every id in Chroma's order (no texts: a tenth of the time), then the texts of the others.
    ids = [str(i) for i in get_all(chunks, [])["ids"]]
    previous = _previous_rows(old, ids, keep)
    new = [ids[row] for row in np.flatnonzero(previous < 0)]
    fetched: dict[str, tuple[str, dict[str, Any]]] = {}
    for first in range(0, len(new), NEW_CHUNKS_PER_READ):
        page = chunks.get(
            ids=new[first : first + NEW_CHUNKS_PER_READ], include=["documents", "metadatas"]
        )
        texts = zip(page["documents"], page["metadatas"], strict=True)
        fetched.update(zip(page["ids"], texts, strict=True))
    term_ids = np.asarray(old_terms.ids)
    bounds = np.asarray(old_terms.offsets)
    collector = TermCollector(old_terms.vocabulary)
    sources, starts = [], np.zeros(len(ids), dtype=np.int64)
    for row, (chunk_id, at) in enumerate(zip(ids, previous.tolist(), strict=True)):
        if at >= 0:
            collector.add_ids(term_ids[bounds[at] : bounds[at + 1]])
            sources.append(old.source(at))
            starts[row] = old.chunk_starts[at]
        else:
            text, meta = fetched[chunk_id]
            collector.add_text(text or "")
            sources.append(str(meta["source"]))
            starts[row] = int(meta["start"])
    read = {chunk_id: (text or "", meta) for chunk_id, (text, meta) in fetched.items()}
    return _ChunkTable(ids, sources, starts, collector.finish(), previous, len(new), read)


def _previous_rows(old: SearchIndex | None, ids: list[str], keep: set[str]) -> np.ndarray:
    """Each chunk's row in `old`, or -1 if it is not there or its article is not in `keep`
    (a chunk id hashes the chunk's article, place and text, but a document ingested again was
    embedded again, and its vectors may differ in the last bits)."""
    previous = np.full(len(ids), -1, dtype=np.int64)
    if old is None or not old.size or not ids or not keep:
        return previous
    encoded = np.array([i.encode() for i in ids], dtype=bytes)
    at = np.minimum(np.searchsorted(old.sorted_ids, encoded), old.size - 1)
    rows = np.asarray(old.sorted_rows)[at].astype(np.int64)
    kept = [i for i, source in enumerate(old.sources) if source in keep]
    found = (np.asarray(old.sorted_ids)[at] == encoded) & np.isin(old.source_of[rows], kept)
    previous[found] = rows[found]
    return previous


def _new_sentences(sentences: Any, chunk_ids: list[str], include: list[str]) -> Any:
    """The sentences of these chunks, as pages of `get` results."""
    for first in range(0, len(chunk_ids), NEW_CHUNKS_PER_READ):
        where = {"chunk_id": {"$in": chunk_ids[first : first + NEW_CHUNKS_PER_READ]}}
        yield sentences.get(where=where, include=include)


def _sentence_counts(sentences: Any, table: _ChunkTable, old: SearchIndex | None) -> np.ndarray:
    """Each chunk's number of sentences: the previous files' for the chunks they hold, the
    others' counted from their sentence ids (`<chunk id>:<i>`: no metadata needed, 4x faster)."""
    reused = table.previous_rows >= 0
    if old is None or not reused.any():
        pages = [get_all(sentences, [])]
        missing = table.ids
    else:
        missing = [table.ids[row] for row in np.flatnonzero(~reused)]
        pages = list(_new_sentences(sentences, missing, []))
    counted = Counter(str(i).rsplit(":", 1)[0] for page in pages for i in page["ids"])
    counts = np.zeros(len(table.ids), dtype=np.int32)
    if old is not None and reused.any():
        counts[reused] = np.asarray(old.sentence_counts)[table.previous_rows[reused]]
    counts[~reused] = [counted[i] for i in missing]
    return counts


@dataclass
class _Sentences:
    """Sentence vectors and spans in (chunk row, index) order, and each row's first one."""

    vectors: np.ndarray  # float32, (sentences, dim)
    spans: np.ndarray  # int32, (sentences, 2): start and end in the article
    offsets: np.ndarray  # int64: row r's sentences are offsets[r] .. offsets[r + 1] - 1

    @classmethod
    def of_rows(cls, ids: list[str], sent: dict[str, list[Any]]) -> _Sentences:
        """From `get_all`'s ids, embeddings and start/end metadatas, in any order."""
        row_of = {chunk_id: row for row, chunk_id in enumerate(ids)}
        keyed = []
        for at, sentence_id in enumerate(sent["ids"]):
            chunk_id, index = str(sentence_id).rsplit(":", 1)
            if chunk_id in row_of:
                keyed.append((row_of[chunk_id], int(index), at))
        keyed.sort()
        order = [at for _, _, at in keyed]
        embedded = np.zeros((0, 0), dtype=np.float32)
        if order:
            embedded = np.asarray(sent["embeddings"], dtype=np.float32)[order]
        metas = sent["metadatas"]
        spans = [(int(metas[at]["start"]), int(metas[at]["end"])) for at in order]
        counts = np.bincount([row for row, _, _ in keyed], minlength=len(ids)).astype(np.int64)
        return cls(
            vectors=embedded,
            spans=np.asarray(spans, dtype=np.int32).reshape(-1, 2),
            offsets=np.concatenate([[0], np.cumsum(counts)]),
        )

    def save(self, folder: Path) -> None:
        np.save(folder / "sentence_vectors.npy", self.vectors)
        np.save(folder / "sentence_spans.npy", self.spans)
        np.save(folder / "sentence_offsets.npy", self.offsets)


def _sentences_reusing(
    reuse: Path, old: SearchIndex, table: _ChunkTable, sentences: Any
) -> _Sentences:
    """The sentences of the table's chunks: from `reuse` for the chunks it holds of unchanged
    articles, from Chroma for the others; the same arrays as `_Sentences.of_rows` of them all."""
    if old.sentence_spans is None or old.sentence_offsets is None:
        return _Sentences.of_rows(table.ids, get_all(sentences, ["embeddings", "metadatas"]))
    reused = table.previous_rows >= 0
    missing = [table.ids[row] for row in np.flatnonzero(~reused)]
    new: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
    for page in _new_sentences(sentences, missing, ["embeddings", "metadatas"]):
        for key, values in new.items():
            values += list(page[key])
    fresh = _Sentences.of_rows(missing, new)  # in (new chunk, index) order
    old_offsets = np.asarray(old.sentence_offsets)
    old_rows = table.previous_rows[reused]
    counts = np.zeros(len(table.ids), dtype=np.int64)
    counts[reused] = old_offsets[old_rows + 1] - old_offsets[old_rows]
    counts[~reused] = np.diff(fresh.offsets)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    # Each sentence's slot: the reused ones copied from their old slots, the new ones filling the
    # others in order (both in row order, and by index within a row).
    from_old = np.repeat(reused, counts)
    shift = np.repeat(old_offsets[old_rows] - offsets[:-1][reused], counts[reused])
    taken = np.flatnonzero(from_old) + shift
    old_vectors = np.load(reuse / "sentence_vectors.npy", mmap_mode="r")
    dim = old_vectors.shape[1] if len(from_old) else 0
    vectors = np.zeros((len(from_old), dim), dtype=np.float32)
    spans = np.zeros((len(from_old), 2), dtype=np.int32)
    vectors[from_old] = old_vectors[taken]
    spans[from_old] = old.sentence_spans[taken]
    if len(fresh.spans):
        vectors[~from_old] = fresh.vectors
        spans[~from_old] = fresh.spans
    return _Sentences(vectors=vectors, spans=spans, offsets=offsets)


def _sentence_facts(
    table: _ChunkTable, embedded: _Sentences, old: SearchIndex | None
) -> list[bytes]:
    """Every sentence's stored facts, in the order of its vector: copied from `old` for the
    chunks it holds with facts, worked out from the chunk's text for the others."""
    pieces: list[bytes] = []
    offsets = embedded.offsets.tolist()
    old_facts: list[bytes] = []
    if old is not None and old.sentence_facts is not None and old.sentence_offsets is not None:
        old_facts, old_offsets = old.sentence_facts.every_piece(), old.sentence_offsets.tolist()
    for row, (chunk_id, at) in enumerate(zip(table.ids, table.previous_rows.tolist(), strict=True)):
        first, last = offsets[row], offsets[row + 1]
        if at >= 0 and old_facts:
            pieces += old_facts[old_offsets[at] : old_offsets[at] + last - first]
            continue
        text, start = table.fetched[chunk_id][0], int(table.starts[row])
        spans = embedded.spans[first:last].tolist()
        pieces += [facts.encode(text[begin - start : end - start]) for begin, end in spans]
    return pieces


def _chunk_meta(table: _ChunkTable, old: SearchIndex | None) -> list[bytes]:
    """Every chunk's metadata as Chroma holds it, in table order: copied from `old` for the
    chunks it holds, from Chroma for the others."""
    old_meta = old.chunk_meta.every_piece() if old is not None and old.chunk_meta else []
    pieces: list[bytes] = []
    for chunk_id, at in zip(table.ids, table.previous_rows.tolist(), strict=True):
        if at >= 0 and old_meta:
            pieces.append(old_meta[at])
        else:
            meta = table.fetched[chunk_id][1]
            # Sorted: Chroma gives the keys in no stable order, and the files are reproducible.
            pieces.append(json.dumps(meta, separators=(",", ":"), sort_keys=True).encode("ascii"))
    return pieces


def _save_pieces(pieces: list[bytes], path: Path, offsets_path: Path) -> None:
    """Pieces for `PieceReader`: concatenated, and where each starts (one more offset)."""
    path.write_bytes(b"".join(pieces))
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum([len(piece) for piece in pieces], out=offsets[1:])
    np.save(offsets_path, offsets)


class RowReader:
    """Rows of a 2-d .npy file read with pread, not memory-mapped: a question reads a few
    scattered rows, and a mapping would keep every page it ever touched (with the kernel's
    fault-around, 64 KB each) resident in the process: measured, 128 of 150 MB of sentence
    vectors after 200 questions. Reads go through the page cache, which is not the process's."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        major, _ = np.lib.format.read_magic(self._file)
        read_header = (
            np.lib.format.read_array_header_1_0
            if major == 1
            else np.lib.format.read_array_header_2_0
        )
        shape, _, self.dtype = read_header(self._file)
        self.shape: tuple[int, ...] = tuple(shape)
        self._offset = self._file.tell()
        self._row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize

    def rows(self, first: int, count: int) -> np.ndarray:
        """Rows first .. first + count - 1, as a fresh array."""
        start = self._offset + first * self._row_bytes
        data = os.pread(self._file.fileno(), count * self._row_bytes, start)
        return np.frombuffer(data, dtype=self.dtype).reshape(count, *self.shape[1:])


class PieceReader:
    """Variable-length pieces of one file (piece i is bytes offsets[i] .. offsets[i + 1]),
    read with pread like `RowReader`'s rows."""

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        self._file = path.open("rb")
        self.offsets = offsets

    def pieces(self, first: int, count: int) -> list[bytes]:
        """Pieces first .. first + count - 1."""
        bounds = [int(x) for x in self.offsets[first : first + count + 1]]
        data = os.pread(self._file.fileno(), bounds[-1] - bounds[0], bounds[0]) if count else b""
        return [data[a - bounds[0] : b - bounds[0]] for a, b in pairwise(bounds)]

    def every_piece(self) -> list[bytes]:
        """All the pieces, in one read (for a writer reusing them)."""
        return self.pieces(0, len(self.offsets) - 1)


def is_complete(folder: Path) -> bool:
    """Whether `folder` holds search files this version reads."""
    try:
        return (folder / "version").read_text(encoding="utf-8") in READABLE
    except OSError:
        return False


@dataclass
class SearchIndex:
    """A generation's search files, opened: arrays memory-mapped, sources and vocabulary read."""

    lexical: LexicalIndex
    chunk_ids: np.ndarray  # bytes, in table order
    sorted_ids: np.ndarray  # the same ids sorted, for binary search
    sorted_rows: np.ndarray  # their rows
    source_of: np.ndarray  # row -> index into `sources`
    article_rows: np.ndarray  # rows in (article, start) order
    article_sources: np.ndarray  # source_of[article_rows]: ascending, so an article is a run
    sentence_counts: np.ndarray
    sources: list[str]
    # Embedded generations: sentence vectors and spans, mapped (None: read them from Chroma).
    sentence_vectors: RowReader | None = None
    sentence_spans: np.ndarray | None = None
    sentence_offsets: np.ndarray | None = None
    chunk_starts: np.ndarray | None = None  # None in version 2 files
    # Each sentence's terms and facts, in the vectors' order (None before version 4, and on a
    # Chroma server, whose search files hold no sentences).
    sentence_facts: PieceReader | None = None
    chunk_meta: PieceReader | None = None  # each chunk's metadata, JSON, in table order (idem)

    @classmethod
    def open(cls, folder: Path) -> SearchIndex:
        def mapped(name: str) -> np.ndarray:
            return np.load(folder / name, mmap_mode="r")

        vectors = (folder / "sentence_vectors.npy").exists()  # embedded generations only
        starts = (folder / "chunk_starts.npy").exists()
        stored_facts = (folder / FACTS).exists()
        chunk_meta = (folder / CHUNK_META).exists()

        return cls(
            lexical=LexicalIndex.load(folder / "bm25"),
            chunk_ids=mapped("chunk_ids.npy"),
            sorted_ids=mapped("sorted_ids.npy"),
            sorted_rows=mapped("sorted_rows.npy"),
            source_of=mapped("source_of.npy"),
            article_rows=mapped("article_rows.npy"),
            article_sources=mapped("article_sources.npy"),
            sentence_counts=mapped("sentences.npy"),
            sources=json.loads((folder / "sources.json").read_text(encoding="utf-8")),
            sentence_vectors=RowReader(folder / "sentence_vectors.npy") if vectors else None,
            sentence_spans=mapped("sentence_spans.npy") if vectors else None,
            sentence_offsets=mapped("sentence_offsets.npy") if vectors else None,
            chunk_starts=mapped("chunk_starts.npy") if starts else None,
            sentence_facts=(
                PieceReader(folder / FACTS, mapped(FACT_OFFSETS)) if stored_facts else None
            ),
            chunk_meta=(
                PieceReader(folder / CHUNK_META, mapped(CHUNK_META_OFFSETS)) if chunk_meta else None
            ),
        )

    @property
    def size(self) -> int:
        return len(self.chunk_ids)

    def chunk_id(self, row: int) -> str:
        return bytes(self.chunk_ids[row]).decode()

    def row(self, chunk_id: str) -> int | None:
        """The table row of a chunk id, or None."""
        key = chunk_id.encode()
        at = int(np.searchsorted(self.sorted_ids, key))
        if at < len(self.sorted_ids) and bytes(self.sorted_ids[at]) == key:
            return int(self.sorted_rows[at])
        return None

    def source(self, row: int) -> str:
        return self.sources[int(self.source_of[row])]

    def rows_of_source(self, source: str) -> list[int]:
        """The rows of an article's chunks, in document order."""
        index = bisect.bisect_left(self.sources, source)
        if index == len(self.sources) or self.sources[index] != source:
            return []
        first = int(np.searchsorted(self.article_sources, index, side="left"))
        last = int(np.searchsorted(self.article_sources, index, side="right"))
        return [int(row) for row in self.article_rows[first:last].tolist()]

    def sentence_ids(self, row: int) -> list[str]:
        chunk_id = self.chunk_id(row)
        return [f"{chunk_id}:{i}" for i in range(int(self.sentence_counts[row]))]
