"""The answer failures users reported (issue 10), each on a real index with the real model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.app import Pipeline
from tests.conftest import SEEDS, MakePipeline

COUNCIL = """City Council Approves Desert Solar Farm

The Palm Ridge city council approved the Mesa Verde solar farm plan on Tuesday by a vote of six \
to one.
Councillor Tom Reyes voted against the plan, saying the city had not studied its water use.
Environmental groups warned that the habitat of the desert tortoise is at risk from the \
project's fences and roads.
Construction is due to begin in March and the farm will power about 40,000 homes.
"""
QUIZ = """Thanksgiving by the Numbers

Which US state raises the most turkeys? Farmers in Minnesota raise about 40 million turkeys \
a year, more than any other state, according to federal agriculture figures.
"""
OFFICIALS = "Which US officials pulled out of the London ceasefire talks?"


@pytest.fixture
def pipeline(make_pipeline: MakePipeline, tmp_path: Path) -> Pipeline:
    docs = tmp_path / "news"
    shutil.copytree(SEEDS, docs)
    (docs / "council.txt").write_text(COUNCIL, encoding="utf-8")
    (docs / "quiz.txt").write_text(QUIZ, encoding="utf-8")
    built = make_pipeline(docs=docs)
    built.ingest()
    return built


def test_who_finds_a_titled_name_at_the_start_of_a_sentence(pipeline: Pipeline) -> None:
    answer = pipeline.chain.invoke({"question": "Who voted against the plan?"})
    assert not answer.refused
    assert answer.citations[0].quote.startswith("Councillor Tom Reyes voted against the plan")


def test_what_animal_names_the_animal(pipeline: Pipeline) -> None:
    answer = pipeline.chain.invoke({"question": "What animal's habitat is at risk?"})
    assert not answer.refused and "desert tortoise" in answer.citations[0].quote


@pytest.mark.parametrize("question", ["Who is Steve Witkoff?", "What did Zelensky say?", OFFICIALS])
def test_markup_in_a_question_changes_nothing(pipeline: Pipeline, question: str) -> None:
    plain = pipeline.chain.invoke({"question": question})
    tagged = pipeline.chain.invoke({"question": f'{question} <img src="x.png" onerror="alert(1)">'})
    assert not plain.refused
    assert (tagged.answer, tagged.citations) == (plain.answer, plain.citations)
    assert tagged.question == question


def test_why_after_who_answers_with_the_reason(pipeline: Pipeline) -> None:
    first = pipeline.chain.invoke({"question": OFFICIALS})
    history = [
        {"role": "user", "content": OFFICIALS},
        {"role": "assistant", "content": first.answer},
    ]
    follow_up = pipeline.chain.invoke({"question": "why did they leave?", "history": history})
    assert not follow_up.refused
    best = follow_up.citations[0].quote
    assert "rejection" in best and "Crimea" in best
    # It says something new: none of the first answer's quotes is repeated.
    assert not {c.quote for c in first.citations} & {c.quote for c in follow_up.citations}


def test_a_question_quoted_in_an_article_is_not_its_answer(pipeline: Pipeline) -> None:
    answer = pipeline.chain.invoke({"question": "Which US state raises the most turkeys?"})
    assert not answer.refused
    assert answer.citations[0].quote.startswith("Farmers in Minnesota raise")
    assert all(not c.quote.endswith("?") for c in answer.citations)
