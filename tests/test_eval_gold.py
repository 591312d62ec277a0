"""Locating gold passages and sources in the indexed documents."""

from __future__ import annotations

import pytest

from rag.evaluation.dataset import QuestionSetError
from rag.evaluation.gold import find_passage, resolve_gold, resolve_source
from rag.evaluation.question import Question

DOCS = {
    "news/a.txt": (
        "Kyiv’s leaders   refused.\nThe “Crimea clause” was\nthe deal-breaker — a nonstarter."
    ),
    "b.txt": "Another story. Kyiv’s leaders refused.",
}


def test_verbatim_passage_every_occurrence() -> None:
    spans = find_passage("Kyiv’s leaders refused.", "b.txt", DOCS["b.txt"])
    assert [(s.start, s.end) for s in spans] == [(15, 38)]
    assert [(s.start, s.end) for s in find_passage("ab", "x", "ab ab")] == [(0, 2), (3, 5)]
    assert find_passage("Kyiv's leaders refused.", "b.txt", DOCS["b.txt"]) == []  # not verbatim
    assert find_passage("  ", "b.txt", DOCS["b.txt"], tolerant=True) == []


def test_tolerant_match_spans_the_original_text() -> None:
    text = DOCS["news/a.txt"]
    passage = 'The "Crimea clause" was the deal-breaker - a nonstarter.'
    (span,) = find_passage(passage, "news/a.txt", text, tolerant=True)
    assert (
        text[span.start : span.end] == "The “Crimea clause” was\nthe deal-breaker — a nonstarter."
    )
    (span,) = find_passage("Kyiv's leaders refused.", "news/a.txt", text, tolerant=True)
    assert text[span.start : span.end] == "Kyiv’s leaders   refused."
    assert find_passage("Moscow", "news/a.txt", text, tolerant=True) == []
    assert find_passage("Kyiv.s", "news/a.txt", text, tolerant=True) == []  # "." is no wildcard


def test_source_names_match_exactly_or_by_path_suffix() -> None:
    names = ["news/a.txt", "b.txt", "old/b.txt"]
    assert resolve_source("news/a.txt", names) == ["news/a.txt"]
    assert resolve_source("a.txt", names) == ["news/a.txt"]
    assert resolve_source("seeds/news/a.txt", names) == ["news/a.txt"]
    assert resolve_source("./b.txt", names) == ["b.txt"]  # exact beats suffix
    assert resolve_source("c.txt", names) == []
    assert resolve_source("a.tx", names) == []


def question(**fields: object) -> Question:
    return Question(id="q", question="Q?", origin="set.jsonl, line 3", **fields)


def test_gold_from_sources_and_passages() -> None:
    gold = resolve_gold(
        question(reference_sources=["a.txt"], reference_contexts=["Kyiv's leaders refused."]),
        DOCS,
        DOCS.__getitem__,
    )
    assert gold.sources == {"news/a.txt"}
    assert [(s.source, s.start) for s in gold.spans] == [("news/a.txt", 0)]  # b.txt not searched
    anywhere = resolve_gold(
        question(reference_contexts=["Kyiv’s leaders refused."]), DOCS, DOCS.__getitem__
    )
    # verbatim in b.txt; the spacing variant in news/a.txt only counts when nothing is verbatim
    assert anywhere.sources == {"b.txt"} and len(anywhere.passages) == 1
    loose = resolve_gold(
        question(reference_contexts=["Kyiv's leaders refused."]), DOCS, DOCS.__getitem__
    )
    assert loose.sources == {"news/a.txt", "b.txt"}
    assert resolve_gold(question(), DOCS, DOCS.__getitem__).is_empty()


def test_unknown_source_and_missing_passage_are_input_errors() -> None:
    with pytest.raises(
        QuestionSetError, match=r"set\.jsonl, line 3, field 'reference_sources': 'c\.txt' is not"
    ):
        resolve_gold(question(reference_sources=["c.txt"]), DOCS, DOCS.__getitem__)
    with pytest.raises(QuestionSetError, match="is ambiguous"):
        resolve_gold(
            question(reference_sources=["a.txt"]), ["x/a.txt", "y/a.txt"], DOCS.__getitem__
        )
    with pytest.raises(
        QuestionSetError, match=r"line 3, field 'reference_contexts\[1\]': passage not found"
    ):
        resolve_gold(
            question(reference_contexts=["Another story.", "Moscow agreed."]),
            DOCS,
            DOCS.__getitem__,
        )
