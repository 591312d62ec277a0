"""Answers and citations are data, not strings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

FALLBACK_NOTICE = "The language model didn't answer; showing passages from the documents."
REFUSAL = (
    "I couldn't find an answer to that in the documents, so I won't guess. "
    "Try rephrasing, or ask about something the documents cover."
)


class Citation(BaseModel):
    """One verbatim passage: `quote == document_text[start:end]`."""

    n: int
    source: str
    title: str
    section: str
    chunk_id: str
    start: int
    end: int
    quote: str


class ShortAnswer(BaseModel):
    """The asked-for name, number or date, inside the cited quote: `text == doc[start:end]`."""

    text: str
    source: str
    start: int
    end: int

    def matches(self, document_text: str | None) -> bool:
        """Whether this is exactly its span of the document (checked as citations are)."""
        return document_text is not None and document_text[self.start : self.end] == self.text

    def lead(self) -> str:
        """The line that opens the answer text ("Marco Rubio [1]"), for readers of plain text;
        a page that shows the short answer in bold drops it from the text it shows under it."""
        return f"{self.text} [1]\n\n"


class RetrievedChunk(BaseModel):
    """A chunk the retriever ranked for the question."""

    chunk_id: str
    source: str
    start: int
    end: int
    score: float


class Answer(BaseModel):
    """The chain's output; chunks of a stream add up to the whole answer."""

    question: str = ""
    answer: str = ""
    refused: bool = False
    citations: list[Citation] = Field(default_factory=list)
    short_answer: ShortAnswer | None = None
    # With a refusal: verbatim passages on what was asked that do not answer it, listed as such
    # ("the documents don't say; this is what they have on it"). Never part of an answer.
    related: list[Citation] = Field(default_factory=list)
    retrieved: list[RetrievedChunk] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    notice: str = ""
    llm: dict[str, Any] = Field(default_factory=dict)
    # The server's id for an answer it served and stored (share link /a/<id>, feedback); else None.
    id: str | None = None
    # In a stream: drop the answer text and citations received so far (a fallback replaces them).
    reset: bool = Field(default=False, exclude=True)

    def __add__(self, other: Answer) -> Answer:
        if other.reset:
            cleared: dict[str, Any] = {"answer": "", "citations": [], "related": [], "reset": False}
            cleared["short_answer"] = None
            base = self.model_copy(update=cleared)
            return base + other.model_copy(update={"reset": False})
        return Answer(
            question=self.question or other.question,
            answer=self.answer + other.answer,
            refused=self.refused or other.refused,
            citations=self.citations + other.citations,
            short_answer=other.short_answer or self.short_answer,
            related=self.related + other.related,
            retrieved=self.retrieved + other.retrieved,
            timings_ms={**self.timings_ms, **other.timings_ms},
            notice=other.notice or self.notice,
            llm={**self.llm, **other.llm},
            id=other.id or self.id,
        )
