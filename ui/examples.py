"""Example questions drawn from whatever is indexed: people named in it and its section headings."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Sequence
from itertools import chain, zip_longest

from rag.app import Pipeline
from rag.errors import RagError
from rag.store import Snapshot

log = logging.getLogger(__name__)

EXAMPLE_SOURCES = 24  # documents example questions are drawn from (reading each one costs)
EXAMPLE_LIMIT = 4  # example questions offered (the chat's chips)

_WORD = r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
_NAME = re.compile(rf"\b(?=({_WORD}) ({_WORD})\b)")  # a lookahead, so pairs may overlap
_QUESTION_WORDS = frozenset("who what when where why how which is are does did".split())
# Capitalised words that start sentences or titles, not people's first names.
_NOT_FIRST_NAMES = frozenset(
    (
        "The A An And But Or In On At As By For From To Of With After Before When While If This "
        "That These Those Their His Her Its Our We They He She It Secretary President Minister "
        "Prime General Chief Photo Image Sources Source Key New North South East West United "
        "European White Why How What"
    ).split()
)


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def people_named(text: str, limit: int = 2) -> list[str]:
    """Likely people: "First Last" pairs whose surname also appears on its own (news style)."""
    lowercase_words = set(re.findall(r"\b[a-z]+\b", text))
    pairs = Counter(
        f"{first} {last}"
        for first, last in _NAME.findall(text)
        if first not in _NOT_FIRST_NAMES  # names are never also common words ("the talks")
        and first.lower() not in lowercase_words
        and last.lower() not in lowercase_words
    )
    words = re.findall(r"[\w'-]+|[^\w\s]|\n", text)  # punctuation, newlines break pairs
    people = []
    for name, _count in pairs.most_common():
        surname = name.split(" ")[1]
        # "... Rubio said", not "Marco Rubio" or "Rubio Foundation"
        alone = any(
            word == surname
            and not (i > 0 and _capitalised(words[i - 1]))
            and not (i + 1 < len(words) and _capitalised(words[i + 1]))
            for i, word in enumerate(words)
        )
        if alone:
            people.append(name)
        if len(people) == limit:
            break
    return people


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


def candidate_questions(snapshot: Snapshot) -> list[str]:
    """Questions about each indexed document, documents interleaved so all get a turn."""
    sections: dict[str, list[str]] = {}
    sources = sorted(snapshot.documents)[:EXAMPLE_SOURCES]
    for source in sources:
        listed = sections.setdefault(source, [])
        for chunk in snapshot.fetch(snapshot.chunks_of_source(source)):
            section = chunk.meta.get("section") or ""
            if section and section not in listed:
                listed.append(section)
    per_document = []
    for source in sources:
        people = [f"Who is {name}?" for name in people_named(snapshot.document_text(source))]
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
