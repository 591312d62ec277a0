"""Example questions from the newest indexed documents: the people they name, their headings."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from itertools import chain, zip_longest
from typing import Any

from rag.app import Pipeline
from rag.errors import RagError
from rag.store import Snapshot

from .people import Vocabulary, people_named, tokenize

log = logging.getLogger(__name__)

EXAMPLE_SOURCES = 24  # documents example questions are drawn from (reading each one costs)
EXAMPLE_LIMIT = 4  # example questions offered (the chat's chips)

_QUESTION_WORDS = frozenset("who what when where why how which is are does did".split())


def heading_question(heading: str) -> str:
    """A question about one section heading."""
    heading = heading.strip().rstrip(".:?!")
    first = heading.split(" ", 1)[0]
    if first.lower() in _QUESTION_WORDS:
        return f"{heading}?"
    heading = heading.rsplit(": ", 1)[-1]  # "Key Figures: Rubio's Role" -> "Rubio's Role"
    if first in {"The", "A", "An"} and " " in heading:
        heading = heading[0].lower() + heading[1:]
    return f"What does the article say about {heading}?"


def newest_first(documents: dict[str, dict[str, Any]]) -> list[str]:
    """Document names, the most recently ingested first (the same time: by name)."""
    # ISO 8601 times in UTC sort as text; a stable sort keeps equal times in name order.
    by_name = sorted(documents)
    return sorted(
        by_name, key=lambda name: str(documents[name].get("ingested_at", "")), reverse=True
    )


def candidate_questions(snapshot: Snapshot) -> list[str]:
    """Questions about the newest documents, interleaved so each gets a turn."""
    sections: dict[str, list[str]] = {}
    sources = newest_first(snapshot.documents)[:EXAMPLE_SOURCES]
    tokens = {source: tokenize(snapshot.document_text(source)) for source in sources}
    vocabulary = Vocabulary.of(tokens.values())  # how these articles write each word
    for source in sources:
        listed = sections.setdefault(source, [])
        for chunk in snapshot.fetch(snapshot.chunks_of_source(source)):
            section = chunk.meta.get("section") or ""
            if section and section not in listed:
                listed.append(section)
    per_document = []
    for source in sources:
        people = [f"Who is {name}?" for name in people_named(tokens[source], vocabulary=vocabulary)]
        headings = [heading_question(h) for h in sections.get(source, [])]
        mixed = chain.from_iterable(zip_longest(people, headings))
        per_document.append([q for q in mixed if q])
    interleaved = chain.from_iterable(zip_longest(*per_document))
    return list(dict.fromkeys(q for q in interleaved if q))


def example_questions(pipeline: Pipeline, limit: int = EXAMPLE_LIMIT) -> list[str]:
    """Up to `limit` example questions that the documents really answer (tried on the chain)."""
    snapshot = pipeline.store.snapshot()
    if snapshot is None:
        return []
    examples: list[str] = []
    for question in candidate_questions(snapshot):
        try:
            answered = not pipeline.chain.invoke({"question": question, "history": []}).refused
        except RagError:  # a question the index can't take is simply not an example
            answered = False
        if answered:
            examples.append(question)
        if len(examples) == limit:
            break
    log.info("example questions: %s", examples)
    return examples


class ExampleQuestions:
    """The example questions of the index's current generation, worked out when it changes.

    Uploads, deletions and `rag ingest` in another process all make a new generation; reading the
    documents costs, so the questions are kept until then. `fixed` ones never change.
    """

    def __init__(
        self, pipeline: Pipeline, fixed: Sequence[str] | None = None, limit: int = EXAMPLE_LIMIT
    ) -> None:
        self.pipeline = pipeline
        self.fixed = None if fixed is None else tuple(fixed)
        self.limit = limit
        self._lock = threading.Lock()  # one reader works them out; the others wait for it
        self._generation: str | None = None  # no index: no examples
        self._examples: tuple[str, ...] = ()

    @property
    def slots(self) -> int:
        """The most examples ever offered at once."""
        return len(self.fixed) if self.fixed is not None else self.limit

    def current(self) -> tuple[str, ...]:
        """The examples for what is indexed now."""
        if self.fixed is not None:
            return self.fixed
        with self._lock:
            # Read before the documents: if an ingest ends meanwhile, the next call sees it.
            generation = self.pipeline.store.generations.current()
            if generation != self._generation:
                self._examples = tuple(example_questions(self.pipeline, self.limit))
                self._generation = generation
            return self._examples
