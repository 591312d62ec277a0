"""The learned answer scorer: reads more than it shows, answers short, refuses what isn't said."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.answer.features import FEATURES, analyse_question, candidate_features
from rag.answer.learned import score_candidates
from rag.answer.reading import READ_CHUNKS, reading_pool
from rag.answer.scorer import WEIGHTS_FILE, AnswerScorer
from rag.answer.short_answer import find_span
from rag.app import Pipeline
from rag.models import REFUSAL
from tests.conftest import MakePipeline

TURKEYS = (
    "Thanksgiving Turkeys Arrive at the White House\n"
    "Two turkeys from a farm arrived at the White House on Monday ahead of the annual "
    "Thanksgiving pardon. The birds will stay at a hotel before the ceremony in the Rose "
    "Garden, where the president is expected to spare them from the dinner table.\n\n"
    "Officials said the birds were chosen for their calm temperament. Farmers raised them "
    "on a diet of corn and soybeans, and they were trained to stand on a table in front of "
    "cameras and crowds.\n\n"
    "The pair come from a farm near Willmar. Minnesota leads the nation in raising the "
    "birds, about 40 million a year, according to federal agriculture figures.\n"
)
STORM = (
    "Storm Hits Coastal Towns\n"
    "A powerful storm hit coastal towns on Tuesday, flooding streets and cutting power to "
    "thousands of homes. Emergency crews worked through the night to clear fallen trees.\n\n"
    "Residents described water rising quickly in the early hours. Schools were closed and "
    "several roads remained blocked on Wednesday morning.\n"
)


def test_weights_load_and_give_probabilities() -> None:
    scorer = AnswerScorer.load()
    assert scorer.features == FEATURES
    assert 0.0 < scorer.threshold < 1.0
    rows = np.asarray(
        [[np.sin(i * 7.0 + j) * 3 for j in range(len(FEATURES))] for i in range(50)],
        dtype=np.float32,
    )
    scores = scorer.scores(rows)
    probabilities = scorer.probabilities(scores)
    assert probabilities.shape == (50,)
    assert np.all((probabilities >= 0.0) & (probabilities <= 1.0))
    assert abs(float(probabilities.sum()) - 1.0) < 1e-9
    assert 0.0 <= scorer.confidence(scores, rows) <= 1.0
    training = json.loads(WEIGHTS_FILE.read_text())["training"]
    assert training["command"].startswith("python -m rag.evaluation.train_scorer fit")
    assert len(training["questions_sha256"]) == 64


def test_weights_for_other_features_are_rejected(tmp_path: Path) -> None:
    data = json.loads(WEIGHTS_FILE.read_text())
    data["features"] = data["features"][:-1]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="retrain"):
        AnswerScorer.load(path)


@pytest.fixture
def news(make_pipeline: MakePipeline, tmp_path: Path) -> Pipeline:
    docs = tmp_path / "news"
    docs.mkdir()
    (docs / "turkeys.md").write_text(TURKEYS)
    (docs / "storm.md").write_text(STORM)
    pipeline = make_pipeline(
        docs=docs, chunk_chars=300, answer_scorer="learned", refusal_gate="learned"
    )
    pipeline.ingest()
    return pipeline


def test_reading_more_reads_the_answer_outside_the_shown_chunks(news: Pipeline) -> None:
    question = "Which US state raises the most turkeys?"
    retrieval = news.retriever.retrieve(question, k=READ_CHUNKS)
    snapshot = news.store.require_snapshot()
    # Only the article's opening chunk is retrieved (and shown): the answer is further down.
    top = next(d for d in retrieval.documents if "Two turkeys" in d.page_content)
    q = analyse_question(question, "", snapshot)
    pool = reading_pool([top], snapshot)
    candidates, _ = candidate_features(q, retrieval.query_vector, pool, snapshot)
    answering = [
        c for c in candidates if "Minnesota" in snapshot.document_text(c.source)[c.start : c.end]
    ]
    assert answering and answering[0].chunk_id != top.metadata["chunk_id"]


def test_the_answer_outside_the_shown_chunks_wins(news: Pipeline) -> None:
    answer = news.chain.invoke({"question": "Which US state raises the most turkeys?", "k": 1})
    assert "Minnesota" in answer.answer


def test_short_answer_is_a_verbatim_span_of_the_cited_sentence(news: Pipeline) -> None:
    answer = news.chain.invoke({"question": "Which US state leads the nation in raising birds?"})
    short = answer.short_answer
    assert short is not None and short.text == "Minnesota"
    text = news.store.require_snapshot().document_text(short.source)
    assert text[short.start : short.end] == short.text
    assert answer.answer.startswith("Minnesota [1]")
    first = answer.citations[0]
    assert first.source == short.source and first.start <= short.start < short.end <= first.end
    assert json.loads(answer.model_dump_json())["short_answer"]["text"] == "Minnesota"


def test_a_word_no_article_holds_does_not_shrink_the_evidence(news: Pipeline) -> None:
    # A word absent from the archive gets the highest IDF: in a small folder it would be most of
    # the question's weight, so coverage would measure the folder's size instead of evidence.
    snapshot = news.store.require_snapshot()
    question = "Which state leads the nation in raising turkeys?"
    rows = []
    for asked in (question, question + " Zorblatt quokkas?"):
        retrieval = news.retriever.retrieve(question, k=READ_CHUNKS)
        q = analyse_question(asked, "", snapshot)
        pool = reading_pool(retrieval.documents, snapshot)
        rows.append(candidate_features(q, retrieval.query_vector, pool, snapshot)[1])
    for name in ("coverage", "rare_coverage", "title_coverage"):
        column = FEATURES.index(name)
        assert rows[0][:, column].max() > 0.0
        assert np.allclose(rows[0][:, column], rows[1][:, column]), name


def test_a_follow_up_does_not_quote_the_answer_it_follows(news: Pipeline) -> None:
    question = "Which US state leads the nation in raising birds?"
    first = news.chain.invoke({"question": question})
    said = first.citations[0].quote
    retrieval = news.retriever.retrieve(question, k=READ_CHUNKS)
    again = news.chain._extract(question, "", retrieval, already_said="")
    assert said in [c.sentence.text for c in again.chosen]
    follow_up = news.chain._extract(question, "", retrieval, already_said=first.answer)
    assert follow_up.chosen and said not in [c.sentence.text for c in follow_up.chosen]


@pytest.mark.xfail(strict=True, reason="the calibrated confidence gate is too weak (see README)")
def test_a_question_the_coverage_does_not_answer_is_refused(news: Pipeline) -> None:
    answer = news.chain.invoke({"question": "How many people died in the coastal storm?"})
    assert answer.refused and answer.answer == REFUSAL and answer.short_answer is None


@pytest.mark.parametrize(
    ("sentence", "kind", "question", "expected"),
    [
        (
            "Tom Brady bought a stake in the Las Vegas Raiders, the league said.",
            "name",
            "Tom Brady became a part owner of which NFL team?",
            "Las Vegas Raiders",
        ),
        (
            "The bank raised rates to the highest level in 27 years on Thursday.",
            "number",
            "The Bank raised its rate to the highest level in how many years?",
            "27 years",
        ),
        ("The vote took place on March 3, 2023 in Paris.", "date", "When was the vote?", None),
        (  # a weekday is when, not which
            "Beginning Tuesday, customers will see a new menu at Subway restaurants.",
            "name",
            "Which food chain launched a new menu?",
            "Subway",
        ),
        (  # a wire story's dateline is where it was filed
            "GARDINER, Mont. — Yellowstone National Park closed all entrances on Monday.",
            "name",
            "Which national park closed its entrances?",
            "Yellowstone National Park",
        ),
        (
            "Talks in Ukraine stalled as top officials, including envoy Steve Witkoff, left.",
            "person",
            "Which officials left the talks?",
            "Steve Witkoff",
        ),
        (  # the owner, not "Russia’s"
            "Kyiv said Russia’s proposal would break international law.",
            "name",
            "Which country made the proposal?",
            "Russia",
        ),
        (  # a nationality is an adjective, not the name asked for
            "The Russian army left Kherson on Friday, the city's mayor said.",
            "name",
            "Which city did the troops leave?",
            "Kherson",
        ),
        (  # a name the question already gives is not its answer
            "Secretary of State Marco Rubio flew to Paris, where he met Emmanuel Macron.",
            "person",
            "Which president did Rubio meet in Paris?",
            "Emmanuel Macron",
        ),
        (  # ... but a title the question shares is not a name it gives
            "President Emmanuel Macron met Biden in Paris.",
            "person",
            "Which President met Biden in Paris?",
            "President Emmanuel Macron",
        ),
        ("The team hired Julian as coach.", "person", "Who did the team hire?", "Julian"),
        ("The pope spoke at the Vatican on Friday.", "name", "Where did he speak?", "Vatican"),
    ],
)
def test_find_span(sentence: str, kind: str, question: str, expected: str | None) -> None:
    span = find_span(sentence, kind, question)
    if expected is None:
        assert span is not None and sentence[span[0] : span[1]] == "March 3, 2023"
    else:
        assert span is not None and sentence[span[0] : span[1]] == expected


def test_the_scorer_reads_every_chunk_shown_when_k_is_above_its_pool(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    # With k above READ_CHUNKS, a shown chunk the scorer did not read could never be quoted.
    docs = tmp_path / "many"
    docs.mkdir()
    for i in range(READ_CHUNKS + 3):
        (docs / f"town{i}.txt").write_text(
            f"Harbour Report {i}\nThe harbour of town {i} reopened after the storm, "
            f"the port authority said, with {i + 2} ferries running again.\n"
        )
    pipeline = make_pipeline(docs=docs)
    pipeline.ingest()
    scorer = pipeline.chain.scorer
    assert scorer is not None
    question = "How many ferries are running again after the storm reopened the harbour?"
    k = READ_CHUNKS + 2
    retrieval = pipeline.retriever.retrieve(question, k=k)
    assert len(retrieval.documents) == k
    snapshot = pipeline.store.require_snapshot()
    _, scored = score_candidates(
        scorer, question, "", retrieval.query_vector, retrieval.documents, snapshot
    )
    read = {c.chunk_id for c in scored.candidates}
    assert {str(d.metadata["chunk_id"]) for d in retrieval.documents} <= read
