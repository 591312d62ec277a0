"""Per-generation search files: the BM25 index and the chunk table, memory-mapped when read.

Written once per generation at ingest (and, for a generation made before they existed, once by
the first reader), so a replica never tokenises or downloads every chunk. The table lists the
chunks in the BM25 index's row order (Chroma's, as before the files existed, so ties rank the
same): each chunk's id, its article and its number of sentences (sentence `i` of chunk `c` has
the id `c:i`), plus the rows in (article, start) order: what finding a chunk's sentences, an
article's chunks and a sentence's neighbours needs.
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
from pathlib import Path
from typing import Any

import numpy as np

from rag.generations.chroma import get_all
from rag.lexical import LexicalIndex

log = logging.getLogger(__name__)

SEARCH = "search"  # the folder's name inside a generation
VERSION = "2"
NEW_CHUNKS_PER_READ = 500  # chunk ids per request for the sentences of chunks not reused


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
    from, whose sentences are taken for the chunks of `reuse_sources` it holds (documents this
    generation did not ingest again); only the other chunks' sentences are read from Chroma.
    """
    started = time.perf_counter()
    rows = get_all(chunks, ["documents", "metadatas"])
    if vectors and reuse is not None and reuse_sources and is_complete(reuse):
        keep = set(reuse_sources)
        reusable = [str(m["source"]) in keep for m in rows["metadatas"]]
        sent = _sentences_reusing(reuse, [str(i) for i in rows["ids"]], reusable, sentences)
    else:
        sent = get_all(sentences, ["embeddings", "metadatas"] if vectors else [])
    # Sentence ids are "<chunk id>:<i>": counting them needs no metadata (4x faster).
    counts = Counter(str(i).rsplit(":", 1)[0] for i in sent["ids"])
    ids = [str(i) for i in rows["ids"]]
    metas = rows["metadatas"]
    sources = sorted({str(m["source"]) for m in metas})
    position = {source: i for i, source in enumerate(sources)}
    source_of = np.asarray([position[str(m["source"])] for m in metas], dtype=np.int32)
    in_articles = sorted(range(len(ids)), key=lambda r: (source_of[r], int(metas[r]["start"])))
    tmp = folder.with_name(f".{folder.name}.{time.time_ns()}.tmp")
    tmp.mkdir(parents=True)
    try:
        LexicalIndex([text or "" for text in rows["documents"]]).save(tmp / "bm25")
        encoded = np.array([i.encode() for i in ids], dtype=bytes) if ids else np.zeros(0, "S1")
        np.save(tmp / "chunk_ids.npy", encoded)
        by_id = np.argsort(encoded, kind="stable")
        np.save(tmp / "sorted_ids.npy", encoded[by_id])
        np.save(tmp / "sorted_rows.npy", by_id.astype(np.int32))
        np.save(tmp / "source_of.npy", source_of)
        np.save(tmp / "article_rows.npy", np.asarray(in_articles, dtype=np.int32))
        np.save(tmp / "article_sources.npy", source_of[in_articles])
        np.save(tmp / "sentences.npy", np.asarray([counts[i] for i in ids], dtype=np.int32))
        (tmp / "sources.json").write_text(json.dumps(sources), encoding="utf-8")
        if vectors:
            _write_sentences(ids, sent, tmp)
        (tmp / "version").write_text(VERSION, encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("search files of %d chunks in %.2f s", len(ids), time.perf_counter() - started)


def _sentences_reusing(
    reuse: Path, chunk_ids: list[str], reusable: list[bool], sentences: Any
) -> dict[str, list[Any]]:
    """The sentences of these chunks as `get_all` gives them (ids, embeddings, start/end): from
    `reuse` for the reusable chunks it holds (a chunk id hashes the chunk's text and place, and
    its document was not embedded again), from Chroma for the others."""
    old = SearchIndex.open(reuse)
    if old.sentence_spans is None or old.sentence_offsets is None:
        return get_all(sentences, ["embeddings", "metadatas"])
    vectors = np.load(reuse / "sentence_vectors.npy", mmap_mode="r")
    found: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
    missing = []
    for chunk_id, may_reuse in zip(chunk_ids, reusable, strict=True):
        row = old.row(chunk_id) if may_reuse else None
        if row is None:
            missing.append(chunk_id)
            continue
        first, last = int(old.sentence_offsets[row]), int(old.sentence_offsets[row + 1])
        found["ids"] += [f"{chunk_id}:{i}" for i in range(last - first)]
        found["embeddings"] += list(np.asarray(vectors[first:last]))
        spans = old.sentence_spans[first:last]
        found["metadatas"] += [{"start": int(a), "end": int(b)} for a, b in spans]
    for start in range(0, len(missing), NEW_CHUNKS_PER_READ):
        where = {"chunk_id": {"$in": missing[start : start + NEW_CHUNKS_PER_READ]}}
        page = sentences.get(where=where, include=["embeddings", "metadatas"])
        found["ids"] += list(page["ids"])
        found["embeddings"] += list(page["embeddings"])
        found["metadatas"] += list(page["metadatas"])
    return found


def _write_sentences(ids: list[str], sent: dict[str, list[Any]], folder: Path) -> None:
    """Sentence vectors and spans in (chunk row, index) order, and each chunk's first one."""
    row_of = {chunk_id: row for row, chunk_id in enumerate(ids)}
    keyed = []
    for at, sentence_id in enumerate(sent["ids"]):
        chunk_id, index = str(sentence_id).rsplit(":", 1)
        if chunk_id in row_of:
            keyed.append((row_of[chunk_id], int(index), at))
    keyed.sort()
    order = [at for _, _, at in keyed]
    dim = len(sent["embeddings"][0]) if order else 0
    embedded = np.asarray(sent["embeddings"], dtype=np.float32).reshape(-1, dim)
    np.save(folder / "sentence_vectors.npy", embedded[order] if order else embedded)
    spans = [
        (int(sent["metadatas"][at]["start"]), int(sent["metadatas"][at]["end"])) for at in order
    ]
    np.save(folder / "sentence_spans.npy", np.asarray(spans, dtype=np.int32).reshape(-1, 2))
    counts = np.bincount([row for row, _, _ in keyed], minlength=len(ids)).astype(np.int64)
    np.save(folder / "sentence_offsets.npy", np.concatenate([[0], np.cumsum(counts)]))


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


def is_complete(folder: Path) -> bool:
    """Whether `folder` holds search files this version reads."""
    try:
        return (folder / "version").read_text(encoding="utf-8") == VERSION
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

    @classmethod
    def open(cls, folder: Path) -> SearchIndex:
        def mapped(name: str) -> np.ndarray:
            return np.load(folder / name, mmap_mode="r")

        vectors = (folder / "sentence_vectors.npy").exists()  # embedded generations only

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
        return [int(row) for row in self.article_rows[first:last]]

    def sentence_ids(self, row: int) -> list[str]:
        chunk_id = self.chunk_id(row)
        return [f"{chunk_id}:{i}" for i in range(int(self.sentence_counts[row]))]
