"""Example questions come from what is indexed, and the documents really answer them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.app import Pipeline
from rag.web.examples import example_questions, heading_question, people_named

HARBOUR = """# Harbour Bridge Reopens After Two-Year Repair

The Harbour Bridge reopened on Monday after a two-year repair that cost the city 40 million euros.
Engineer Jane Holloway led the repair team, which replaced every cable on the eastern span.

## Why the Repair Took So Long

Holloway said corrosion inside the cables was far worse than the first survey suggested.
The council approved a second budget in the spring, which delayed the work by eight months.

## Traffic on the Reopened Bridge

About 60,000 cars are expected to cross the bridge every day, according to the council.
Mayor Tomas Brandt said the reopening would cut commuting times across the river.
Brandt thanked residents for their patience during the closure.
"""


def test_people_are_pairs_whose_surname_also_stands_alone() -> None:
    assert people_named(HARBOUR, limit=5) == ["Jane Holloway", "Tomas Brandt"]
    # a capitalised pair whose words are also everyday words is not a person
    assert people_named("Harbour Bridge news. The bridge opened. Bridge works went on.") == []


def test_heading_questions_read_as_questions() -> None:
    assert heading_question("Why the Repair Took So Long") == "Why the Repair Took So Long?"
    assert heading_question("The Controversial Clause") == (
        "What does the article say about the Controversial Clause?"
    )
    assert heading_question("Key Figures: Rubio's Role") == (
        "What does the article say about Rubio's Role?"
    )


def test_examples_are_drawn_from_the_indexed_documents(
    tmp_path: Path, make_pipeline: Callable[..., Any]
) -> None:
    docs = tmp_path / "harbour"
    docs.mkdir()
    (docs / "harbour.md").write_text(HARBOUR, encoding="utf-8")
    pipeline = make_pipeline(docs)
    pipeline.ingest()
    examples = example_questions(pipeline, limit=4)
    assert examples, "no example questions for an indexed document"
    assert "Who is Jane Holloway?" in examples
    assert not any("Witkoff" in q or "Rubio" in q for q in examples)  # nothing from the seed
    for question in examples:
        assert not pipeline.chain.invoke({"question": question, "history": []}).refused


def test_seed_examples_are_answered(seed_pipeline: Pipeline) -> None:
    examples = example_questions(seed_pipeline, limit=4)
    assert len(examples) == 4
    for question in examples:
        answer = seed_pipeline.chain.invoke({"question": question, "history": []})
        assert answer.citations, question


def test_no_index_no_examples(make_pipeline: Callable[..., Any]) -> None:
    assert example_questions(make_pipeline()) == []
