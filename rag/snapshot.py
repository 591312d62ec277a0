"""One generation opened for reading: search files mapped, chunks fetched per question.

A replica holds the generation's manifest and memory-maps its search files (BM25 index and chunk
table); chunk texts, sentence vectors and document texts are read when a question needs them (an
embedded generation's from its search files and article texts, else from Chroma by id), and kept
in small caches bounded in size, not in corpus size.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from cachetools import LRUCache

from rag.generations.chroma import guarded
from rag.generations.search_files import SearchIndex
from rag.lexical import LexicalIndex
from rag.models import Citation

CHUNK_CACHE = 2048  # chunks kept with their sentences (~10 KB each with the vectors: ~20 MB)
TEXT_CACHE_CHARS = 16_000_000  # document texts kept for citations (characters)


@dataclass(eq=False)
class Sentence:
    """One indexed sentence: where it is in its document, its text and its vector."""

    id: str  # "<chunk id>:<index in the chunk>"
    chunk_id: str
    index: int
    source: str
    start: int
    end: int
    text: str
    vector: np.ndarray


@dataclass(eq=False)
class StoredChunk:
    """A chunk as stored: text, metadata and its sentences in document order."""

    id: str
    text: str
    meta: dict[str, Any]
    sentences: list[Sentence]
    # The sentences' terms and facts as an ingest stored them (rag/answer/facts.py), in order;
    # None for search files from before they were: answerers work them out.
    stored_facts: list[bytes] | None = None
    # What answerers work out from this chunk (terms, facts), dropped with it from the cache.
    derived: dict[str, Any] = field(default_factory=dict)


@dataclass
class Snapshot:
    """One generation opened for reading."""

    generation: str
    path: Path | None  # the generation's folder (None on a Chroma server)
    manifest: dict[str, Any]
    client: Any
    chunks: Any  # langchain_chroma.Chroma of chunks, for the dense search (guarded on a server)
    chunk_rows: Any  # the raw chunk and sentence collections, read by id
    sentence_rows: Any
    search: SearchIndex
    read_text: Callable[[str], str]
    url: str | None = None  # the Chroma server's, whose outages become clear errors
    _chunks: LRUCache[str, StoredChunk] = field(
        default_factory=lambda: LRUCache(maxsize=CHUNK_CACHE)
    )
    _texts: LRUCache[str, str] = field(
        default_factory=lambda: LRUCache(maxsize=TEXT_CACHE_CHARS, getsizeof=len)
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        return self.manifest["documents"]

    @property
    def size(self) -> int:
        """How many chunks the generation holds."""
        return self.search.size

    @property
    def lexical(self) -> LexicalIndex:
        return self.search.lexical

    def fetch(self, chunk_ids: Iterable[str]) -> list[StoredChunk]:
        """The chunks with these ids (unknown ids left out), from the cache or in two requests."""
        wanted = list(dict.fromkeys(chunk_ids))
        with self._lock:
            found = {cid: self._chunks[cid] for cid in wanted if cid in self._chunks}
        missing = [cid for cid in wanted if cid not in found]
        if missing:
            fetched = guarded(self.url, lambda: self._read_chunks(missing))
            with self._lock:
                for chunk in fetched:
                    self._chunks[chunk.id] = chunk
            found.update((chunk.id, chunk) for chunk in fetched)
        return [found[cid] for cid in wanted if cid in found]

    def chunk(self, chunk_id: str) -> StoredChunk:
        """One chunk (KeyError if the generation does not hold it)."""
        chunks = self.fetch([chunk_id])
        if not chunks:
            raise KeyError(chunk_id)
        return chunks[0]

    def sentence(self, sentence_id: str) -> Sentence:
        chunk_id, index = sentence_id.rsplit(":", 1)
        return self.chunk(chunk_id).sentences[int(index)]

    def chunks_of_source(self, source: str) -> list[str]:
        """Ids of an article's chunks, in document order."""
        return [self.search.chunk_id(row) for row in self.search.rows_of_source(source)]

    def chunk_neighbours(
        self, chunk_id: str, source: str, sentences: int
    ) -> list[tuple[str | None, str | None, int]]:
        """For each sentence of one chunk: (previous sentence id, next sentence id, index of the
        sentence in its article), worked out together (an answerer reads hundreds of sentences
        per question: one look-up of the article's layout, not one each). `sentences`: how many
        the chunk has, as the caller holds it (used if the table lacks the chunk)."""
        table = self.search
        row = table.row(chunk_id)
        rows = table.rows_of_source(source)
        count = int(table.sentence_counts[row]) if row is not None else sentences
        if row is None or row not in rows:
            return [(None, None, index) for index in range(count)]
        at = rows.index(row)
        counts = [int(n) for n in table.sentence_counts[rows].tolist()]  # one read, not one each
        offset = sum(counts[:at])
        before = next((i for i in range(at - 1, -1, -1) if counts[i]), None)
        after = next((i for i in range(at + 1, len(rows)) if counts[i]), None)
        last_before = (
            f"{table.chunk_id(rows[before])}:{counts[before] - 1}" if before is not None else None
        )
        first_after = f"{table.chunk_id(rows[after])}:0" if after is not None else None
        return [
            (
                f"{chunk_id}:{index - 1}" if index > 0 else last_before,
                f"{chunk_id}:{index + 1}" if index + 1 < count else first_after,
                offset + index,
            )
            for index in range(count)
        ]

    def document_text(self, source: str) -> str:
        """The exact text citations into `source` point into (read when first needed)."""
        with self._lock:
            text = self._texts.get(source)
        if text is None:
            text = self.read_text(self.documents[source]["text_file"])
            if len(text) <= TEXT_CACHE_CHARS // 4:
                with self._lock:
                    self._texts[source] = text
        return text

    def citation(self, n: int, sentence: Sentence) -> Citation:
        """Citation [n] quoting `sentence` (the quote is exactly its document slice)."""
        chunk = self.chunk(sentence.chunk_id)
        return Citation(
            n=n,
            source=sentence.source,
            title=self.documents[sentence.source]["title"],
            section=str(chunk.meta.get("section", "")),
            chunk_id=sentence.chunk_id,
            start=sentence.start,
            end=sentence.end,
            quote=self.document_text(sentence.source)[sentence.start : sentence.end],
        )

    def every_chunk(self, page: int = 500) -> Iterator[StoredChunk]:
        """Every chunk, page by page, bypassing the cache: for tools and tests (reads it all)."""
        for start in range(0, self.size, page):
            rows = range(start, min(start + page, self.size))
            yield from guarded(
                self.url, partial(self._read_chunks, [self.search.chunk_id(r) for r in rows])
            )

    def _mapped_sentences(
        self, chunk_ids: list[str]
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]], dict[str, list[bytes]]]:
        """Vectors and spans of these chunks' sentences, and their facts by chunk if stored,
        read from the search files."""
        table = self.search
        assert table.sentence_vectors is not None and table.sentence_spans is not None
        assert table.sentence_offsets is not None
        vectors: dict[str, np.ndarray] = {}
        metas: dict[str, dict[str, Any]] = {}
        facts: dict[str, list[bytes]] = {}
        for chunk_id in chunk_ids:
            row = table.row(chunk_id)
            if row is None:
                continue
            first = int(table.sentence_offsets[row])
            sentence_ids = table.sentence_ids(row)
            rows = table.sentence_vectors.rows(first, len(sentence_ids))
            if table.sentence_facts is not None:
                facts[chunk_id] = table.sentence_facts.pieces(first, len(sentence_ids))
            spans = table.sentence_spans[first : first + len(sentence_ids)].tolist()
            for index, (sentence_id, (start, end)) in enumerate(
                zip(sentence_ids, spans, strict=True)
            ):
                vectors[sentence_id] = rows[index]
                metas[sentence_id] = {"start": start, "end": end}
        return vectors, metas, facts

    def _mapped_chunks(self, chunk_ids: list[str], got: dict[str, list[Any]]) -> list[str]:
        """Add to `got` what Chroma's `get` of these chunks' documents and metadatas returns,
        read from the search files' metadata and the article texts (a chunk is its article's
        slice), for the chunks of articles small enough to keep in the text cache; returns
        the other ids."""
        table = self.search
        assert table.chunk_meta is not None
        others = []
        for chunk_id in chunk_ids:
            row = table.row(chunk_id)
            if row is None:
                continue
            chars = self.documents.get(table.source(row), {}).get("chars")
            if chars is None or chars > TEXT_CACHE_CHARS // 4:
                others.append(chunk_id)  # a long article: read the chunk, not all of it
                continue
            meta = json.loads(table.chunk_meta.pieces(row, 1)[0])
            got["ids"].append(chunk_id)
            got["documents"].append(
                self.document_text(str(meta["source"]))[int(meta["start"]) : int(meta["end"])]
            )
            got["metadatas"].append(meta)
        return others

    def _read_chunks(self, chunk_ids: list[str]) -> list[StoredChunk]:
        got: dict[str, list[Any]] = {"ids": [], "documents": [], "metadatas": []}
        from_chroma = chunk_ids
        if self.search.chunk_meta is not None:
            from_chroma = self._mapped_chunks(chunk_ids, got)
        if from_chroma:
            fetched = self.chunk_rows.get(ids=from_chroma, include=["documents", "metadatas"])
            for key, values in got.items():
                values += fetched[key]
        sentence_ids: list[str] = []
        for chunk_id in got["ids"]:
            row = self.search.row(chunk_id)
            if row is not None:
                sentence_ids += self.search.sentence_ids(row)
        vectors: dict[str, np.ndarray] = {}
        metas: dict[str, dict[str, Any]] = {}
        facts: dict[str, list[bytes]] = {}
        if sentence_ids and self.search.sentence_vectors is not None:
            vectors, metas, facts = self._mapped_sentences(got["ids"])
        elif sentence_ids:
            sent = self.sentence_rows.get(ids=sentence_ids, include=["embeddings", "metadatas"])
            embedded = np.asarray(sent["embeddings"], dtype=np.float32)
            for i, sentence_id in enumerate(sent["ids"]):
                vectors[sentence_id], metas[sentence_id] = embedded[i], sent["metadatas"][i]
        by_chunk: dict[str, list[str]] = {}
        for sentence_id in vectors:
            by_chunk.setdefault(sentence_id.rsplit(":", 1)[0], []).append(sentence_id)
        chunks = []
        rows = zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        for chunk_id, text, meta in rows:
            offset = int(meta["start"])
            sentences = []
            for sentence_id in sorted(by_chunk.get(chunk_id, []), key=_index_of):
                start, end = int(metas[sentence_id]["start"]), int(metas[sentence_id]["end"])
                sentences.append(
                    Sentence(
                        id=sentence_id,
                        chunk_id=chunk_id,
                        index=_index_of(sentence_id),
                        source=str(meta["source"]),
                        start=start,
                        end=end,
                        text=text[start - offset : end - offset],
                        vector=vectors[sentence_id],
                    )
                )
            chunks.append(StoredChunk(chunk_id, text, dict(meta), sentences, facts.get(chunk_id)))
        return chunks


def _index_of(sentence_id: str) -> int:
    return int(sentence_id.rsplit(":", 1)[1])
