"""The answer failures users reported (issue 10), each on a real index with the real model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.answer.question_type import states_a_cause
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


BRADY_CLUB = """Brady Joins Birmingham City Ownership Group

Tom Brady became a minority owner of Birmingham City, the English football club, last year, and \
he has since visited the team's stadium in the Midlands.
The seven-time Super Bowl champion said he wanted to help the club return to the Premier League.
"""
BRADY_NFL = """NFL Owners Approve Brady Stake

NFL owners on Tuesday approved Tom Brady's purchase of a minority stake in the Las Vegas Raiders, \
ending more than a year of review.
The league's finance committee examined the deal because Brady also works as a TV analyst.
"""
SUMMIT = """Leaders Gather for Pacific Summit

Leaders of 23 countries gathered in San Francisco this week for the Asia-Pacific economic summit, \
where trade and climate dominated the agenda.
"""
STATE_VISIT = """Biden Hosts Modi for State Visit

President Joe Biden welcomed Indian Prime Minister Narendra Modi to the White House on Thursday \
for a lavish state visit, complete with a state dinner on the South Lawn.
"""


@pytest.fixture
def related_coverage(make_pipeline: MakePipeline, tmp_path: Path) -> Pipeline:
    """Articles on the same people or events where only one sentence answers."""
    docs = tmp_path / "related"
    docs.mkdir()
    for name, text in [("club", BRADY_CLUB), ("nfl", BRADY_NFL), ("summit", SUMMIT),
                       ("visit", STATE_VISIT)]:  # fmt: skip
        (docs / f"{name}.txt").write_text(text, encoding="utf-8")
    built = make_pipeline(docs=docs)
    built.ingest()
    return built


def test_a_state_visit_question_quotes_the_state_visit(related_coverage: Pipeline) -> None:
    answer = related_coverage.chain.invoke(
        {"question": "Which global leader was invited to the White House this week for a lavish "
         "state visit?"}
    )  # fmt: skip
    assert not answer.refused and "Narendra Modi" in answer.citations[0].quote


@pytest.mark.xfail(
    strict=True,
    reason="issue 10: the rules and the learned scorer both rank the club sentence ('owner', "
    "'team') above 'NFL'",
)
def test_which_nfl_team_quotes_the_nfl_team(related_coverage: Pipeline) -> None:
    answer = related_coverage.chain.invoke(
        {"question": "Seven-time Super Bowl champion Tom Brady recently became a part owner of "
         "which NFL team?"}
    )  # fmt: skip
    assert not answer.refused and "Las Vegas Raiders" in answer.citations[0].quote


@pytest.mark.parametrize(
    ("sentence", "explains"),
    [
        ("Their withdrawal followed Ukraine's firm rejection of the plan.", True),
        ("The officials left, following Ukraine's rejection of the plan.", True),
        ("They left because the plan was rejected.", True),
        # An opening "Following X," explains the sentence's own event, not X.
        ("Diplomatic Impact: Following the US exit, the summit was downgraded.", False),
        ("After weeks of talks, the deal collapsed.", False),
        ("Following the vote, the mayor resigned because of the backlash.", True),
    ],
)
def test_what_counts_as_stating_a_cause(sentence: str, explains: bool) -> None:
    assert states_a_cause(sentence) is explains
