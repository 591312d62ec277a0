"""Sentence-aware chunks that keep their section and their offsets into the document text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from rag.ingest.sentences import sentence_spans
from rag.ingest.structure import ParsedText


@dataclass
class Chunk:
    """A run of whole sentences from one section: `text == document_text[start:end]`."""

    source: str
    title: str
    section: str
    start: int
    end: int
    text: str
    sentences: list[tuple[int, int]] = field(default_factory=list)

    @property
    def chunk_id(self) -> str:
        digest = hashlib.sha256(f"{self.source}\x00{self.start}\x00{self.text}".encode())
        return digest.hexdigest()[:32]


def split_into_chunks(doc: ParsedText, source: str, max_chars: int = 700) -> list[Chunk]:
    """Group sentences into chunks of about max_chars; never cross a section or cut a sentence."""
    chunks: list[Chunk] = []
    section = ""
    pending: list[tuple[int, int]] = []

    def flush() -> None:
        if pending:
            start, end = pending[0][0], pending[-1][1]
            chunks.append(
                Chunk(source, doc.title, section, start, end, doc.text[start:end], list(pending))
            )
            pending.clear()

    for block in doc.blocks:
        if block.kind in ("title", "credit"):
            flush()
            continue
        if block.kind == "heading":
            flush()
            section = doc.text[block.start : block.end].strip()
            continue
        for span in sentence_spans(doc.text, block.start, block.end):
            if pending and span[1] - pending[0][0] > max_chars:
                flush()
            pending.append(span)
    flush()
    return chunks
