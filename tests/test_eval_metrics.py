"""Every metric on hand-made cases whose right value is worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from rag.evaluation import metrics
from rag.evaluation.gold import Gold, Span
from rag.evaluation.question import Question
from rag.evaluation.scoring import score_question
from rag.evaluation.summary import aggregate, counts
from rag.models import Answer, Citation

TEXT = "0123456789" * 20  # a 200-character document "a.txt"


@dataclass
class Chunk:
    source: str
    start: int
    end: int


def cite(n: int, start: int, end: int, source: str = "a.txt", quote: str | None = None) -> Citation:
    quote = TEXT[start:end] if quote is None else quote
    return Citation(
        n=n,
        source=source,
        title="A",
        section="",
        chunk_id=f"c{n}",
        start=start,
        end=end,
        quote=quote,
    )


def text_of(source: str) -> str | None:
    return TEXT if source == "a.txt" else None


PASSAGE = Gold(passages=[[Span("a.txt", 100, 140)]], sources={"a.txt"})


@pytest.mark.parametrize(
    ("chunk", "relevant"),
    [
        (Chunk("a.txt", 90, 150), True),  # holds the whole passage
        (Chunk("a.txt", 120, 190), True),  # holds exactly half of it
        (Chunk("a.txt", 125, 190), False),  # holds 15 of its 40 characters
        (Chunk("a.txt", 110, 125), True),  # a chunk shorter than the passage, wholly inside it
        (Chunk("b.txt", 90, 150), False),  # same offsets, other document
        (Chunk("a.txt", 0, 100), False),  # touches, shares nothing
    ],
)
def test_relevance_by_gold_passage(chunk: Chunk, relevant: bool) -> None:
    assert metrics.is_relevant(chunk, PASSAGE) is relevant


def test_relevance_by_source_only_when_no_passages() -> None:
    gold = Gold(sources={"b.txt"})
    assert metrics.is_relevant(Chunk("b.txt", 0, 5), gold)
    assert not metrics.is_relevant(Chunk("a.txt", 100, 140), gold)


def test_rank_hits_and_reciprocal_rank() -> None:
    ranked = [Chunk("a.txt", 0, 50), Chunk("b.txt", 100, 140), Chunk("a.txt", 95, 145)]
    rank = metrics.first_relevant_rank(ranked, PASSAGE)
    assert rank == 3
    assert [metrics.hit_at(rank, n) for n in (1, 3, 5)] == [0.0, 1.0, 1.0]
    assert metrics.reciprocal_rank(rank) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(12, cutoff=10) == 0.0
    assert metrics.first_relevant_rank(ranked[:2], PASSAGE) is None
    assert metrics.hit_at(None, 3) == 0.0 and metrics.reciprocal_rank(None) == 0.0


def test_context_recall_counts_covered_characters() -> None:
    gold = Gold(passages=[[Span("a.txt", 100, 140)], [Span("a.txt", 0, 10)]])
    # first passage: 100-120 and 130-135 covered = 25/40; second: not retrieved
    retrieved = [Chunk("a.txt", 90, 120), Chunk("a.txt", 130, 135), Chunk("b.txt", 0, 10)]
    assert metrics.context_recall(retrieved, gold) == pytest.approx((25 / 40 + 0) / 2)
    # overlapping chunks are not counted twice
    assert metrics.context_recall([Chunk("a.txt", 100, 130)] * 2, PASSAGE) == pytest.approx(0.75)


def test_context_recall_takes_the_best_occurrence_and_falls_back_to_sources() -> None:
    twice = Gold(passages=[[Span("a.txt", 0, 10), Span("b.txt", 0, 10)]])
    assert metrics.context_recall([Chunk("b.txt", 0, 10)], twice) == 1.0
    sources = Gold(sources={"a.txt", "b.txt"})
    assert metrics.context_recall([Chunk("a.txt", 0, 1), Chunk("a.txt", 5, 9)], sources) == 0.5


def test_must_include_is_case_and_typography_insensitive() -> None:
    answer = "Zelensky said Ukraine “won’t trade territory” [1]. The ARMISTICE failed [2]."
    groups = [["won't trade"], ["armistice", "truce"], ["Crimea"], ["[1]", "nothing"]]
    score, missing = metrics.must_include(answer, groups)
    assert missing == [["Crimea"], ["[1]", "nothing"]]  # markers are not answer text
    assert score == 0.5
    assert metrics.must_include("anything", []) == (1.0, [])


def test_token_f1_worked_example() -> None:
    # tokens: [cat, sat] vs [cat, sat, down]: precision 1, recall 2/3, F1 0.8
    assert metrics.token_f1("The cat sat. [1]", "A cat sat down!") == pytest.approx(0.8)
    assert metrics.token_f1("Rubio", "rubio") == 1.0
    assert metrics.token_f1("dogs", "cats") == 0.0
    assert metrics.token_f1("the", "a") == 1.0  # both empty after dropping articles
    assert metrics.token_f1("", "cats") == 0.0


def test_cosine() -> None:
    assert metrics.cosine([1, 0], [1, 0]) == pytest.approx(1.0)
    assert metrics.cosine([1, 0], [0, 2]) == pytest.approx(0.0)
    assert metrics.cosine(np.array([1.0, 1.0]), [1.0, 0.0]) == pytest.approx(2**-0.5)
    assert metrics.cosine([0, 0], [1, 0]) == 0.0


def test_citation_validity_checks_every_quote_and_marker() -> None:
    good = [cite(1, 10, 20), cite(2, 30, 35)]
    assert metrics.citation_validity("x [1] y [2]", good, text_of) == 1.0
    assert metrics.citation_problems("x [1] y [2]", good, text_of) == []
    wrong_quote = [cite(1, 10, 20), cite(2, 30, 35, quote="not the slice")]
    assert metrics.citation_validity("x [1] y [2]", wrong_quote, text_of) == 0.5
    out_of_bounds = [cite(1, 190, 260, quote=TEXT[190:])]
    assert metrics.citation_validity("x [1]", out_of_bounds, text_of) == 0.0
    unknown = [cite(1, 0, 5, source="gone.txt")]
    assert metrics.citation_problems("x [1]", unknown, text_of) == [
        "[1] cites unknown document 'gone.txt'"
    ]
    dangling = metrics.citation_problems("x [1] y [3]", [cite(1, 0, 5)], text_of)
    assert dangling == ["[3] in the answer has no citation"]
    assert metrics.citation_validity("x [1] y [3]", [cite(1, 0, 5)], text_of) == 0.5


def test_citation_support() -> None:
    citations = [cite(1, 95, 105), cite(2, 0, 10), cite(3, 139, 150)]
    assert metrics.citation_support(citations, PASSAGE) == pytest.approx(2 / 3)
    assert metrics.citation_support(citations, Gold(sources={"a.txt"})) == 1.0
    assert metrics.citation_support(citations, Gold(sources={"b.txt"})) == 0.0
    assert metrics.citation_support([], PASSAGE) == 0.0


def test_strip_markers() -> None:
    assert metrics.strip_markers("It was 2014 [1]. Then [12] more.") == "It was 2014. Then more."


def question(**fields: object) -> Question:
    return Question(id="q", question="Q?", **fields)


def test_scoring_an_answered_answerable_question() -> None:
    answer = Answer(answer=f"{TEXT[100:140]} [1]", citations=[cite(1, 100, 140)])
    q = question(reference=TEXT[100:140], must_include=[["0123"], ["missing"]])
    ranked = [Chunk("a.txt", 0, 50), Chunk("a.txt", 90, 150)]
    scores, failures, details = score_question(q, answer, ranked, PASSAGE, 5, text_of)
    assert details == {"first_relevant_rank": 2, "missing": [["missing"]]}
    assert scores["hit@1"] == 0.0 and scores["hit@3"] == 1.0 and scores["mrr@10"] == 0.5
    assert scores["must_include"] == 0.5 and scores["token_f1"] == 1.0
    assert scores["citation_validity"] == 1.0 and scores["citation_support"] == 1.0
    assert scores["false_refusal_rate"] == 0.0 and scores["refusal_accuracy"] is None
    assert failures == ["answer lacks missing"]


def test_scoring_refusals_both_ways() -> None:
    refusal = Answer(answer="I couldn't find an answer to that.", refused=True)
    scores, failures, _ = score_question(
        question(reference="cat", must_include=[["cat"]]),
        refusal,
        [Chunk("a.txt", 90, 150)],
        PASSAGE,
        5,
        text_of,
    )
    assert scores["false_refusal_rate"] == 1.0 and scores["must_include"] == 0.0
    assert scores["token_f1"] == 0.0 and scores["citation_support"] is None
    assert failures[0] == "refused an answerable question"
    scores, failures, _ = score_question(
        question(answerable=False), refusal, [], Gold(), 5, text_of
    )
    assert scores["refusal_accuracy"] == 1.0 and failures == []
    assert scores["hit@1"] is None and scores["false_refusal_rate"] is None
    answered = Answer(answer=f"{TEXT[0:5]} [1]", citations=[cite(1, 0, 5)])
    scores, failures, _ = score_question(
        question(answerable=False), answered, [], Gold(), 5, text_of
    )
    assert scores["refusal_accuracy"] == 0.0 and scores["citation_validity"] == 1.0
    assert failures == ["answered although the documents cannot answer this"]


def test_a_refusals_related_passages_are_checked_like_citations() -> None:
    related = [cite(1, 10, 20), cite(2, 30, 35, quote="not the slice")]
    refusal = Answer(answer="I couldn't find an answer to that.", refused=True, related=related)
    scores, failures, _ = score_question(
        question(answerable=False), refusal, [], Gold(), 5, text_of
    )
    assert scores["refusal_accuracy"] == 1.0 and scores["citation_validity"] == 0.5
    assert failures == ["related [2] quote is not a.txt[30:35]"]
    assert metrics.citation_validity("", [], text_of, related[:1]) == 1.0


def test_scoring_checks_each_quote_once_and_its_validity_is_unchanged() -> None:
    """The problems found for the failures are the ones citation_validity counts: found once."""
    cited = Answer(
        answer="x [1] y [2] z [3]", citations=[cite(1, 10, 20), cite(2, 30, 35, quote="no")]
    )
    related = [cite(1, 10, 20), cite(2, 0, 5, source="gone.txt")]
    refusal = Answer(answer="I couldn't find an answer to that.", refused=True, related=related)
    cases = [
        (
            cited,
            True,
            1 / 3,
            ["[2] quote is not a.txt[30:35]", "[3] in the answer has no citation"],
        ),
        (refusal, False, 0.5, ["related [2] cites unknown document 'gone.txt'"]),
    ]
    for answer, answerable, validity, problems in cases:
        looked_up: list[str] = []

        def counting_text_of(source: str, looked_up: list[str] = looked_up) -> str | None:
            looked_up.append(source)
            return text_of(source)

        scores, failures, _ = score_question(
            question(answerable=answerable), answer, [], Gold(), 5, counting_text_of
        )
        assert len(looked_up) == len(answer.citations) + len(answer.related) == 2
        expected = metrics.citation_validity(
            answer.answer, answer.citations, text_of, answer.related
        )
        assert scores["citation_validity"] == pytest.approx(expected)
        assert scores["citation_validity"] == pytest.approx(validity)
        assert failures[: len(problems)] == problems


def test_aggregate_averages_only_where_a_metric_applies() -> None:
    records = [
        {"scores": {"hit@1": 1.0, "refusal_accuracy": None}, "latency_ms": 10.0},
        {"scores": {"hit@1": 0.0, "refusal_accuracy": None}, "latency_ms": 30.0},
        {"scores": {"hit@1": None, "refusal_accuracy": 1.0}, "latency_ms": 20.0},
    ]
    result = aggregate(records)
    assert result["hit@1"] == 0.5 and result["refusal_accuracy"] == 1.0
    assert result["must_include"] is None
    assert result["latency_p50_ms"] == 20.0 and result["latency_p95_ms"] == 29.0
    assert counts(records)["hit@1"] == 2 and counts(records)["latency_p95_ms"] == 3
