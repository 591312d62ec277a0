"""Example questions come from what is indexed, and the documents really answer them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag.app import Pipeline
from rag.web.examples import ExampleQuestions, example_questions, heading_question, people_named
from rag.web.server import create_app
from tests.conftest import MakePipeline

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

MILL = """# Old Mill in Tarrin Burns Down

The old mill in Tarrin burned down on Sunday night, the fire service said.
Fire chief Anna Lindqvist said the blaze started in the grain store.
Lindqvist said nobody was hurt.
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


TOKEN = "operator-secret"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
SEED = "us-officials-withdraw-from-london-ceasefire-talks.txt"


def upload(client: TestClient, name: str, text: str) -> None:
    """A document added through the operator's endpoint (saved, then ingested)."""
    files = {"file": (name, text.encode(), "text/markdown")}
    response = client.post("/api/documents", files=files, headers=ADMIN)
    assert response.status_code == 201, response.text


def shown(client: TestClient) -> list[str]:
    response = client.get("/api/examples")
    assert response.status_code == 200, response.text
    examples: list[str] = response.json()["examples"]
    return examples


@pytest.mark.slow  # the index is re-ingested on every change
def test_api_examples_follow_uploads_deletions_and_other_writers(
    make_pipeline: MakePipeline,
) -> None:
    pipeline = make_pipeline(admin_token=TOKEN)
    pipeline.ingest()
    with (
        TestClient(create_app(pipeline)) as client,
        TestClient(create_app(pipeline, examples=["Who is Marco Rubio?"])) as fixed,
    ):
        before = shown(client)
        assert "Who is Steve Witkoff?" in before
        upload(client, "harbour.md", HARBOUR)
        after_upload = shown(client)
        assert "Who is Jane Holloway?" in after_upload  # the new document is suggested
        assert client.delete(f"/api/documents/{SEED}", headers=ADMIN).status_code == 200
        after_delete = shown(client)
        assert after_delete and not any("Witkoff" in q or "Rubio" in q for q in after_delete)
        # `rag ingest` in another process: another pipeline writes a new generation of the index
        docs = Path(pipeline.settings.docs_dir)
        (docs / "harbour.md").unlink()
        (docs / "mill.md").write_text(MILL, encoding="utf-8")
        make_pipeline(admin_token=TOKEN).ingest()
        assert "Who is Anna Lindqvist?" in shown(client)
        assert shown(fixed) == ["Who is Marco Rubio?"]  # examples given to the app stay fixed


def test_a_server_started_on_an_empty_index_suggests_examples_after_an_upload(
    tmp_path: Path, make_pipeline: MakePipeline
) -> None:
    docs = tmp_path / "empty"
    docs.mkdir()
    pipeline = make_pipeline(docs, admin_token=TOKEN)
    with TestClient(create_app(pipeline)) as client:
        assert shown(client) == []
        upload(client, "harbour.md", HARBOUR)
        assert "Who is Jane Holloway?" in shown(client)


def test_examples_are_worked_out_once_per_generation(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    examples = ExampleQuestions(pipeline)
    assert examples.current() == ()  # nothing indexed yet
    pipeline.ingest()
    first = examples.current()
    assert "Who is Steve Witkoff?" in first
    assert examples.current() is first  # the same generation: not read again
    docs = Path(pipeline.settings.docs_dir)
    (docs / "mill.md").write_text(MILL, encoding="utf-8")
    pipeline.ingest()
    assert examples.current() is not first and "Who is Anna Lindqvist?" in examples.current()
    assert ExampleQuestions(pipeline, ["Who is X?"]).current() == ("Who is X?",)
