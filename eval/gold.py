"""Find each question's gold passages and sources in the indexed documents."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .dataset import QuestionSetError
from .question import Question

# Typography that differs between a copied passage and the stored text without changing it.
_EQUIVALENT = {
    **dict.fromkeys("'’‘", "['’‘]"),
    **dict.fromkeys('"“”', '["“”]'),
    **dict.fromkeys("-–—", "[-–—]"),
}


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of one indexed document."""

    source: str
    start: int
    end: int

    def overlap(self, source: str, start: int, end: int) -> int:
        """Characters shared with [start, end) of `source`."""
        if source != self.source:
            return 0
        return max(0, min(end, self.end) - max(start, self.start))


@dataclass
class Gold:
    """Where a question's answer lives: passages (each with its occurrences) and source names."""

    passages: list[list[Span]] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)

    @property
    def spans(self) -> list[Span]:
        return [span for occurrences in self.passages for span in occurrences]

    def is_empty(self) -> bool:
        return not self.passages and not self.sources


def resolve_source(name: str, documents: Iterable[str]) -> list[str]:
    """Indexed names `name` denotes: itself, or a path suffix either way (seeds/a.txt ~ a.txt)."""
    documents = list(documents)
    wanted = name.strip().replace("\\", "/").lstrip("./")
    if wanted in documents:
        return [wanted]
    return [doc for doc in documents if doc.endswith("/" + wanted) or wanted.endswith("/" + doc)]


def tolerant_pattern(passage: str) -> re.Pattern[str]:
    """A regex for `passage` that ignores curly vs straight quotes, dash kinds and spacing."""
    words = ("".join(_EQUIVALENT.get(c, re.escape(c)) for c in word) for word in passage.split())
    return re.compile(r"\s+".join(words))


def find_passage(passage: str, source: str, text: str, tolerant: bool = False) -> list[Span]:
    """Every occurrence of `passage` in `text`: verbatim, or (tolerant) ignoring typography."""
    if not passage.strip():
        return []
    pattern = tolerant_pattern(passage) if tolerant else re.compile(re.escape(passage))
    return [Span(source, m.start(), m.end()) for m in pattern.finditer(text)]


def resolve_gold(
    question: Question, documents: Iterable[str], text_of: Callable[[str], str]
) -> Gold:
    """Locate a question's gold sources and passages; unknown names or passages are input errors."""
    documents = list(documents)
    gold = Gold()
    for name in question.reference_sources:
        matches = resolve_source(name, documents)
        if len(matches) != 1:
            problem = (
                "is not an indexed document"
                if not matches
                else f"is ambiguous ({', '.join(matches[:3])})"
            )
            raise QuestionSetError(
                f"{question.origin}, field 'reference_sources': {name!r} {problem}"
            )
        gold.sources.add(matches[0])
    search = sorted(gold.sources) or documents
    for number, passage in enumerate(question.reference_contexts):
        occurrences: list[Span] = []
        for tolerant in (False, True):  # verbatim anywhere beats a looser match
            occurrences = [
                span
                for source in search
                for span in find_passage(passage, source, text_of(source), tolerant)
            ]
            if occurrences:
                break
        if not occurrences:
            where = ", ".join(search[:3]) + (" …" if len(search) > 3 else "")
            raise QuestionSetError(
                f"{question.origin}, field 'reference_contexts[{number}]': passage not found in "
                f"{where}: {passage[:80]!r}"
            )
        gold.passages.append(occurrences)
    if not question.reference_sources:
        gold.sources = {span.source for span in gold.spans}
    return gold
