"""Example questions come from what is indexed, and the documents really answer them."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag.app import Pipeline
from rag.web import examples as examples_module
from rag.web.examples import (
    ExampleQuestions,
    candidate_questions,
    example_questions,
    heading_question,
    people_named,
)
from rag.web.people import Vocabulary, tokenize
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


# Paragraphs of four articles in eval/realtimeqa-2023-slice/docs (068252f4d03b, 0544a863771a,
# 0748222b4ae1, 25021b40aa64), as printed: a party, a stadium, a sentence-initial adjective before
# a company, a car and the middle of a longer name look like "First Last" pairs whose last word
# also stands alone.
PRIMARY = """Jennifer McClellan has won the Democratic nomination for Virginia’s 4th Congressional \
District in the special election to succeed the late Rep. Donald McEachin, the commonwealth’s \
Democratic Party announced early Thursday morning in a news release.

McClellan defeated fellow state Sen. Joe Morrissey and two other candidates in Tuesday’s \
“firehouse primary,” which was conducted by party officials across a handful of pop-up voting \
locations in the Richmond-area district. She took 85% of the vote to Morrissey’s 14%, according to \
the Virginia Democratic Party news release.

At a news conference Thursday with Virginia Democratic Party officials, McClellan said she was \
ready “to bring a new perspective to the Virginia delegation that has never had a Black woman \
sitting at the table.”

Morrissey’s feuds with the Virginia Democratic Party establishment may have been part of his \
appeal among some disenchanted partisans, but he was dogged by his controversial history. \
(Morrissey has since married the woman and they have several children.) Morrissey has also been \
stripped of his law license – twice – and remains disbarred.
"""

WORLD_CUP = """Rocked by the late withdrawal of Sam Kerr through injury, Australia needed time to \
settle before getting off to a winning start at the Women's World Cup on Thursday with a 1-0 \
victory over Ireland. Steph Catley swept home a 52nd-minute penalty to end Ireland's resistance \
and spark an eruption of joy from fans inside Stadium Australia. — Associated Press
"""

IPHONE = """Diehard Apple (AAPL) fans fretted for months over what would go missing in the newest \
iPhone. But investors are more worried about something other than an absent headphone jack: the \
missing enthusiasm for Apple's stock.

The lackluster run is even more disappointing since the stock typically runs into pressure \
afterward. Apple's stock has declined an average of 0.6% in the 30 days after the previous \
iPhone announcements going back to 2007. In the last four cycles, shares of Apple fell 4% in the \
two weeks after new phones were actually launched and made available, UBS analyst Steven \
Milunovich says.

Samsung continues to challenge Apple. Apple claimed 75% of the premium-tier smartphone profits in \
the second quarter, says Michael Walkley, analyst at Canaccord Genuity.

Still, people waiting to upgrade their phones may finally pay up for the iPhone 7 or new phones \
launched in 2018, Walkley says. "Barring any surprises, such as an iPhone price cut, we see \
limited downside risk," Milunovich says.
"""

OBITUARIES = """\
Roy Brown Jr., 96, defiantly proud designer of the Ford Edsel, the chrome-encrusted, big-grilled \
set of wheels that was one of the worst flops in automotive history. More than five decades \
after Brown's creation debuted then disappeared, the term "Edsel" remains practically synonymous \
with failure. Pneumonia, Feb. 24.

Demetrius Newton, 85, civil rights attorney who represented icons like Rosa Parks and Martin \
Luther King Jr. before becoming the first black person to serve as speaker pro tem of the \
Alabama House in 1998. Long illness, Sept. 11.

Lew Wood, 84, journalist who marched with Martin Luther King, covered John F. Kennedy's \
assassination and was the third news anchor for NBC's Today show, in 1975, during a \
distinguished broadcast career that began with the dawn of television, . Kidney failure, Aug. \
21.
"""


def test_people_in_real_articles_are_people_not_parties_places_or_companies() -> None:
    assert people_named(PRIMARY, limit=5) == ["Jennifer McClellan", "Joe Morrissey"]
    assert people_named(WORLD_CUP, limit=5) == []  # "Stadium Australia" is a place
    assert people_named(IPHONE, limit=5) == ["Steven Milunovich", "Michael Walkley"]
    assert people_named(OBITUARIES, limit=5) == ["Roy Brown"]  # not "Ford Edsel", "Luther King"


def test_words_the_other_articles_write_in_lower_case_are_not_first_names() -> None:
    text = "Crowds filled Stadium Australia on Monday. Australia said the match was sold out."
    assert people_named(text) == ["Stadium Australia"]  # this text alone can't tell
    archive = Vocabulary.of([tokenize(text), tokenize("The stadium holds 80,000 people.")])
    assert people_named(text, vocabulary=archive) == []


def test_heading_questions_read_as_questions() -> None:
    assert heading_question("Why the Repair Took So Long") == "Why the Repair Took So Long?"
    assert heading_question("The Controversial Clause") == (
        "What does the article say about the Controversial Clause?"
    )
    assert heading_question("Key Figures: Rubio's Role") == (
        "What does the article say about Rubio's Role?"
    )


def folder_with(folder: Path, texts: dict[str, str]) -> Path:
    """A new documents folder holding these texts by file name."""
    folder.mkdir()
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_examples_are_drawn_from_the_indexed_documents(
    tmp_path: Path, make_pipeline: Callable[..., Any]
) -> None:
    pipeline = make_pipeline(folder_with(tmp_path / "harbour", {"harbour.md": HARBOUR}))
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


def test_the_newest_documents_are_asked_about_first(
    tmp_path: Path, make_pipeline: MakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = folder_with(tmp_path / "newsroom", {"a-mill.md": MILL})
    pipeline = make_pipeline(docs)
    pipeline.ingest()
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    while datetime.now(UTC).isoformat(timespec="seconds") == stamp:  # a later ingest time
        time.sleep(0.05)
    (docs / "z-harbour.md").write_text(HARBOUR, encoding="utf-8")
    pipeline.ingest()
    manifest = pipeline.store.current_manifest()
    assert manifest is not None
    times = {name: doc["ingested_at"] for name, doc in manifest["documents"].items()}
    assert times["z-harbour.md"] > times["a-mill.md"]  # the later file name is the newer one
    snapshot = pipeline.store.snapshot()
    assert snapshot is not None
    assert candidate_questions(snapshot)[0] == "Who is Jane Holloway?"
    assert example_questions(pipeline, limit=1) == ["Who is Jane Holloway?"]
    monkeypatch.setattr(examples_module, "EXAMPLE_SOURCES", 1)  # reads only the newest
    only = candidate_questions(snapshot)
    assert "Who is Jane Holloway?" in only and not any("Lindqvist" in q for q in only)


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
