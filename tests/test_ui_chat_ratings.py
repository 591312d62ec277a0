"""The chat page's 👍/👎 handler called directly, with a real answers store: a thumb pressed again
withdraws its rating, and a thumb that stored nothing does not stay pressed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from typer.testing import CliRunner

from rag.app import Pipeline
from rag.cli import app as cli
from rag.feedback import AnswerLog
from rag.web.chat import ChatHandlers, Turn
from rag.web.served import ServedAnswers

QUESTION = "Who is Steve Witkoff?"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AnswerLog]:
    answer_log = AnswerLog(tmp_path / "answers.sqlite3", max_answers=100)
    yield answer_log
    answer_log.close()


@pytest.fixture
def handlers(seed_pipeline: Pipeline, store: AnswerLog) -> ChatHandlers:
    return ChatHandlers(seed_pipeline, ServedAnswers(seed_pipeline, store))


def click(reply: int, liked: bool | str) -> gr.LikeData:
    """What the browser sends for a thumb on the `reply`-th answer: True 👍, False 👎, and ""
    when the click un-pressed a pressed thumb (seen from Chromium on Gradio 6.31)."""
    return gr.LikeData(None, {"index": 2 * reply + 1, "value": "…", "liked": liked})


def answered(handlers: ChatHandlers, question: str = QUESTION) -> list[Turn]:
    *_, (_, turns, _, answer) = handlers.respond(question, [])
    assert answer is not None and answer["id"]
    return turns


def thumbs_of(update: Any) -> list[str | None]:
    assert isinstance(update, gr.Chatbot), "the thumbs should be set to what is stored"
    return list(update.feedback_value or [])


def listed(store: AnswerLog) -> str:
    result = CliRunner().invoke(cli, ["feedback", "list", "--db", str(store.path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_pressing_a_pressed_thumb_again_withdraws_its_rating(
    handlers: ChatHandlers, store: AnswerLog
) -> None:
    turns = answered(handlers)
    answer_id = turns[0]["answer"]["id"]
    turns, pending, box, thumbs = handlers.rate(turns, click(0, True))
    assert store.rated("up") and turns[0]["rating"] == "up" and thumbs_of(thumbs) == ["Like"]
    assert pending == {"id": answer_id, "rating": "up"} and box.visible

    turns, pending, box, thumbs = handlers.rate(turns, click(0, ""), pending)
    assert thumbs_of(thumbs) == [None]
    assert store.rated() == []  # withdrawn, not a 👎
    stored = store.get(answer_id)
    assert stored is not None and stored.rating is None  # the answer itself stays
    assert turns[0]["rating"] is None
    assert pending is None and isinstance(box, gr.Textbox) and not box.visible  # comment box shut
    assert "0 rated answer(s)" in listed(store) and "👎" not in listed(store)


def test_a_withdrawal_keeps_another_answers_comment_box_open(
    handlers: ChatHandlers, store: AnswerLog
) -> None:
    first = answered(handlers)
    *_, (_, turns, _, _) = handlers.respond("What did he spend days doing?", first)
    turns, _, _, _ = handlers.rate(turns, click(0, False))
    turns, pending, _, _ = handlers.rate(turns, click(1, True))
    turns, still, box, _ = handlers.rate(turns, click(0, ""), pending)
    assert still == gr.skip() and box == gr.skip()  # the open box is the second answer's
    assert [t["rating"] for t in turns] == [None, "up"]
    (kept,) = store.rated()
    assert kept.id == turns[1]["answer"]["id"] and kept.rating == "up"


def test_a_thumb_on_an_error_reply_warns_and_is_not_left_pressed(handlers: ChatHandlers) -> None:
    turns = answered(handlers)
    turns, _, _, _ = handlers.rate(turns, click(0, True))
    *_, (_, turns, _, _) = handlers.respond("x" * 5000, turns)  # too long: an error turn
    assert turns[-1]["answer"] is None
    with pytest.warns(UserWarning, match="Only stored answers can be rated"):
        shown_first, (turns, _, _, thumbs) = handlers.rate_and_show(turns, click(1, True))
    assert thumbs_of(thumbs) == ["Like", None]  # the first answer's 👍 stays, nothing else
    # first as clicked: the browser's thumb follows only a change of its value (None to None
    # would leave it pressed)
    assert thumbs_of(shown_first[3]) == ["Like", "Like"]


def test_a_thumb_on_an_answer_the_store_does_not_have_warns_and_is_not_left_pressed(
    handlers: ChatHandlers, store: AnswerLog
) -> None:
    turns = answered(handlers)
    turns[0]["answer"]["id"] = "A" * 16  # well-formed, but never stored (or pruned since)
    with pytest.warns(UserWarning, match="no longer stored"):
        turns, pending, box, thumbs = handlers.rate(turns, click(0, False))
    assert thumbs_of(thumbs) == [None] and turns[0]["rating"] is None
    assert pending == gr.skip() and box == gr.skip()  # no comment box for a rating not stored
    assert store.rated() == []


def test_without_an_answers_store_a_thumb_warns_and_is_not_left_pressed(
    seed_pipeline: Pipeline,
) -> None:
    handlers = ChatHandlers(seed_pipeline)  # this server stores no answers
    *_, (_, turns, _, _) = handlers.respond(QUESTION, [])
    with pytest.warns(UserWarning, match="Only stored answers can be rated"):
        _, _, _, thumbs = handlers.rate(turns, click(0, True))
    assert thumbs_of(thumbs) == [None]


def test_when_the_store_fails_a_thumb_warns_and_is_not_left_pressed(
    seed_pipeline: Pipeline, tmp_path: Path
) -> None:
    broken = AnswerLog(tmp_path)  # a folder, not a file: every write fails
    handlers = ChatHandlers(seed_pipeline, ServedAnswers(seed_pipeline, broken))
    turns = answered(handlers)  # the answer goes out with an id all the same
    with pytest.warns(UserWarning, match="The answer store failed"):
        turns, pending, _, thumbs = handlers.rate(turns, click(0, True))
    assert thumbs_of(thumbs) == [None] and pending == gr.skip()
    broken.close()
