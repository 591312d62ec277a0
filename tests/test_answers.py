"""Extractive answers on the seed: cited, verbatim, refusing when the article doesn't say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.answer.chain import AnswerChain
from rag.answer.scorer import AnswerScorer, rules_threshold
from rag.app import Pipeline
from rag.errors import BadInputError
from rag.ingest.sentences import sentence_spans
from rag.models import REFUSAL, Answer
from rag.store import Snapshot
from tests.conftest import MakePipeline

ANSWERABLE = {
    "Which US officials pulled out of the London ceasefire talks?": ["Rubio", "Witkoff"],
    "Who is Steve Witkoff?": ["envoy|point man"],
    "When did Russia seize Crimea?": ["2014"],
    "What did EU officials call the move to accept Russian control in Crimea?": ["unacceptable"],
    "How long was the freeze in fighting Witkoff lined up support for?": ["30-day"],
    "What did Zelensky say Ukraine will not do?": ["trade territory"],
    "Which cities did Witkoff shuttle between?": ["Paris"],
    "What was the summit downgraded to?": ["lower-level"],
}
UNANSWERABLE = [
    "What is the capital of Australia?",
    "How old is Volodymyr Zelensky?",
    "Who is the prime minister of the United Kingdom?",
    "What is the recipe for banana bread?",
    "How many soldiers died in the war last year?",
]


def check_citations(answer: Answer, snapshot: Snapshot) -> None:
    for citation in answer.citations:
        text = snapshot.document_text(citation.source)
        assert citation.quote == text[citation.start : citation.end]
        assert f"[{citation.n}]" in answer.answer
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


@pytest.mark.parametrize(("question", "facts"), ANSWERABLE.items())
def test_answerable_questions_get_cited_answers(
    seed_pipeline: Pipeline, question: str, facts: list[str]
) -> None:
    import re

    answer = seed_pipeline.chain.invoke({"question": question})
    assert not answer.refused, question
    for fact in facts:
        assert re.search(fact, answer.answer, re.IGNORECASE), (fact, answer.answer)
    check_citations(answer, seed_pipeline.store.require_snapshot())
    sentences = re.split(r"(?<=\])\s+", answer.answer)
    assert all(re.search(r"\[\d+\]$", s) for s in sentences)  # every sentence ends with [n]


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_questions_the_article_cannot_answer_are_refused(
    seed_pipeline: Pipeline, question: str
) -> None:
    answer = seed_pipeline.chain.invoke({"question": question})
    assert answer.refused and answer.answer == REFUSAL and answer.citations == []


def test_a_refusal_lists_the_closest_passages_as_such(seed_pipeline: Pipeline) -> None:
    """The article names Zelensky but not his age: the refusal points to what it does say."""
    snapshot = seed_pipeline.store.require_snapshot()
    answer = seed_pipeline.chain.invoke({"question": "How old is Volodymyr Zelensky?"})
    assert answer.refused and answer.answer == REFUSAL and answer.citations == []
    assert answer.related and all("Zelensky" in c.quote for c in answer.related[:1])
    for n, passage in enumerate(answer.related, 1):
        assert passage.n == n
        assert passage.quote == snapshot.document_text(passage.source)[passage.start : passage.end]
    assert len({c.source for c in answer.related}) == len(answer.related)  # one per article
    streamed = Answer()
    for chunk in seed_pipeline.chain.stream({"question": "How old is Volodymyr Zelensky?"}):
        streamed = streamed + chunk
    assert streamed.related == answer.related


@pytest.mark.parametrize(
    "question", ["What is the recipe for banana bread?", "What is the capital of Australia?"]
)
def test_a_refusal_lists_nothing_when_nothing_is_about_the_question(
    seed_pipeline: Pipeline, question: str
) -> None:
    answer = seed_pipeline.chain.invoke({"question": question})
    assert answer.refused and answer.related == []


def test_an_answer_lists_no_related_passages(seed_pipeline: Pipeline) -> None:
    answer = seed_pipeline.chain.invoke({"question": "When did Russia seize Crimea?"})
    assert not answer.refused and answer.citations and answer.related == []


def test_the_rules_refusal_threshold_follows_the_archive_size() -> None:
    """0.37 for one article (the seed's 15 chunks), RealTime QA 2023's 0.4757 for its 18,350,
    rising with the log of the chunk count between them and held outside them."""
    assert rules_threshold(15) == pytest.approx(0.37)
    assert rules_threshold(18_350) == pytest.approx(0.4757)
    assert rules_threshold(1) == rules_threshold(15)
    assert rules_threshold(10**7) == pytest.approx(0.4757)
    sizes = [15, 100, 1_000, 3_386, 18_350]
    thresholds = [rules_threshold(n) for n in sizes]
    assert thresholds == sorted(thresholds) and len(set(thresholds)) == len(sizes)
    # log-linear: each tenfold adds the same amount
    assert rules_threshold(1_500) - rules_threshold(150) == pytest.approx(
        rules_threshold(15_000) - rules_threshold(1_500)
    )


def test_the_chain_uses_the_threshold_for_its_index_unless_one_is_set(
    seed_pipeline: Pipeline,
) -> None:
    snapshot = seed_pipeline.store.require_snapshot()
    # By default the learned scorer ranks and the rules decide to refuse.
    assert seed_pipeline.chain.scorer is not None and seed_pipeline.chain.refusal_gate == "rules"
    assert seed_pipeline.chain.threshold_for(snapshot) == rules_threshold(snapshot.size)
    fixed = AnswerChain(seed_pipeline.retriever, refusal_threshold=0.99)
    assert fixed.threshold_for(snapshot) == 0.99
    # Unset with the learned scorer as the refusal gate: its calibrated threshold, not the
    # rules' (another scale); with the rules as the gate (the default), the rules'.
    scorer = AnswerScorer.load()
    learned = AnswerChain(seed_pipeline.retriever, scorer=scorer, refusal_gate="learned")
    assert learned.threshold_for(snapshot) == scorer.threshold != rules_threshold(snapshot.size)
    ranked = AnswerChain(seed_pipeline.retriever, scorer=scorer)
    assert ranked.threshold_for(snapshot) == rules_threshold(snapshot.size)
    assert fixed.invoke({"question": "When did Russia seize Crimea?"}).refused


def test_sentence_neighbours_when_the_search_table_does_not_know_the_chunk(
    seed_pipeline: Pipeline,
) -> None:
    """Known chunks: the sentences around; a chunk the table lacks: none, as before
    `chunk_neighbours` (an empty list there made every look-up an IndexError)."""
    snapshot = seed_pipeline.store.require_snapshot()
    chunk = next(
        c
        for c in snapshot.fetch(snapshot.search.chunk_id(r) for r in range(snapshot.size))
        if len(c.sentences) >= 2
    )
    second = chunk.sentences[1]
    around = snapshot.chunk_neighbours(chunk.id, second.source, len(chunk.sentences))
    assert around[second.index][0] == f"{chunk.id}:0"
    unknown = snapshot.chunk_neighbours("not-indexed", second.source, second.index + 1)
    assert unknown[second.index] == (None, None, 1)
    assert snapshot.chunk_neighbours("not-indexed", second.source, sentences=2) == [
        (None, None, 0),
        (None, None, 1),
    ]


def test_every_citation_is_its_source_slice_over_many_questions(seed_pipeline: Pipeline) -> None:
    """Ask about every sentence of the seed (its words shuffled into a question)."""
    snapshot = seed_pipeline.store.require_snapshot()
    source = next(iter(snapshot.documents))
    text = snapshot.document_text(source)
    answered = 0
    for start, end in sentence_spans(text)[:60]:
        words = text[start:end].split()
        question = "What about " + " ".join(words[len(words) // 3 :][:12]) + "?"
        answer = seed_pipeline.chain.invoke({"question": question})
        check_citations(answer, snapshot)
        answered += not answer.refused
    assert answered >= 30


def test_follow_up_uses_history_only_when_needed(seed_pipeline: Pipeline) -> None:
    history = [
        {"role": "user", "content": "Who is Steve Witkoff?"},
        {"role": "assistant", "content": "The US special envoy."},
    ]
    follow_up = seed_pipeline.chain.invoke(
        {"question": "What was he lining up support for?", "history": history}
    )
    assert "30-day freeze" in follow_up.answer
    assert follow_up.citations[0].quote.startswith("Sources say Witkoff spent days lining up")
    standalone = seed_pipeline.chain.invoke(
        {"question": "When did Russia seize Crimea?", "history": history}
    )
    assert "2014" in standalone.answer  # history did not drag the answer back to Witkoff


def test_stream_adds_up_to_invoke(seed_pipeline: Pipeline) -> None:
    question = {"question": "Why did Ukraine reject the US proposal?"}
    chunks = list(seed_pipeline.chain.stream(question))
    assert len(chunks) > 3 and chunks[0].retrieved and not chunks[0].answer
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    whole = seed_pipeline.chain.invoke(question)
    assert total.answer == whole.answer and total.citations == whole.citations


def test_typography_does_not_matter(seed_pipeline: Pipeline) -> None:
    straight = seed_pipeline.chain.invoke({"question": "What is Russia's hold over Crimea?"})
    curly = seed_pipeline.chain.invoke({"question": "What is Russia’s hold over Crimea?"})
    assert straight.answer == curly.answer and not straight.refused


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \n\t ", "empty"), ("x" * 2001, "too long"), (None, "text")],
)
def test_bad_questions_are_rejected_clearly(
    seed_pipeline: Pipeline, question: Any, message: str
) -> None:
    with pytest.raises(BadInputError, match=message):
        seed_pipeline.chain.invoke({"question": question})


def test_control_characters_in_questions_are_harmless(seed_pipeline: Pipeline) -> None:
    answer = seed_pipeline.chain.invoke({"question": "Who is\x00 Steve\x07 Witkoff?\x1b"})
    assert "Witkoff" in answer.answer and answer.question == "Who is Steve Witkoff?"


def test_bad_history_is_rejected(seed_pipeline: Pipeline) -> None:
    with pytest.raises(BadInputError, match="history"):
        seed_pipeline.chain.invoke({"question": "Who?", "history": "not a list"})


def test_a_sentence_introducing_a_list_brings_its_items(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    docs = tmp_path / "lists"
    docs.mkdir()
    (docs / "budget.txt").write_text(
        "City Budget Approved\nThe council approved the budget on Monday. "
        "The new budget plan for the harbour district funds three projects:\n"
        "- A new ferry terminal on the east pier.\n"
        "- Repairs to the old lighthouse.\n"
        "- Wider cycle lanes along the harbour road.\n"
        "Critics said the plan ignores housing.\n"
    )
    pipeline = make_pipeline(docs=docs)
    pipeline.ingest()
    answer = pipeline.chain.invoke(
        {"question": "Which projects does the budget plan for the harbour district fund?"}
    )
    assert "ferry terminal" in answer.answer and "lighthouse" in answer.answer
    assert "cycle lanes" in answer.answer
    assert [c.quote for c in answer.citations][1:4] == [
        "A new ferry terminal on the east pier.",
        "Repairs to the old lighthouse.",
        "Wider cycle lanes along the harbour road.",
    ]


def test_the_rules_read_at_k_what_a_retrieval_of_k_would_give(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    """The learned scorer makes the chain retrieve 10; `Retrieval.top(k)` hands the rules the
    chunks a retrieval of k shows and the ones it moves off the list, in the same order."""
    docs = tmp_path / "coverage"
    docs.mkdir()
    for outlet in ("wire", "daily", "times", "herald", "post", "gazette"):
        (docs / f"{outlet}.txt").write_text(
            f"Harbour Bridge Opens ({outlet})\n"
            "The Elmsworth harbour bridge opened on Saturday after four years of work. "
            f"The {outlet} reported that the bridge is 412 metres long. "
            "Engineers designed the steel arch that rises above the water. "
            "The old ferry service will stop at the end of the month. "
            f"Shop owners told the {outlet} they expect more visitors.\n",
            encoding="utf-8",
        )
    pipeline = make_pipeline(docs=docs, chunk_chars=120)
    pipeline.ingest()
    retriever = pipeline.retriever
    moved = 0
    for query in ("How long is the harbour bridge?", "ferry service", "steel arch engineers"):
        wide = retriever.retrieve(query, k=10)
        for k in range(1, 11):
            narrow = retriever.retrieve(query, k=k)
            moved += len(narrow.also_read)
            expected = [d.id for d in narrow.documents + narrow.also_read]
            assert [d.id for d in wide.top(k)] == expected, (query, k)
    assert moved > 0  # the one-per-article ordering did move chunks off the shown list


def test_a_list_the_document_introduces_answers_under_the_learned_ranking(
    seed_pipeline: Pipeline,
) -> None:
    # The learned scorer (the default ranking) would quote three loose sentences about the deal;
    # the document's own list answers it, as the rules find.
    answer = seed_pipeline.chain.invoke({"question": "What did the proposed deal aim to do?"})
    assert [c.quote for c in answer.citations][:4] == [
        "The deal aimed to:",
        "Recognize Crimea as Russian territory",
        "Freeze the front lines where they stand now",
        "Exchange this concession for limited sanctions relief and increased Western aid for "
        "Ukraine",
    ]


def test_a_kind_of_question_the_scorer_never_saw_is_answered_by_the_rules(
    seed_pipeline: Pipeline,
) -> None:
    # RealTime QA 2022 has no "Who is X?" and no why-question: the weights say nothing there.
    scorer = seed_pipeline.chain.scorer
    assert scorer is not None and scorer.unseen_kinds == {"definition", "reason"}
    rules = AnswerChain(seed_pipeline.retriever)
    for question in ("Who is Steve Witkoff?", "Why did the US officials leave the talks?"):
        learned = seed_pipeline.chain.invoke({"question": question})
        assert not learned.refused
        assert learned.citations == rules.invoke({"question": question}).citations
