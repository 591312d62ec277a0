"""The chat page shows the project's own errors as messages, and a bug as a generic error."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from typing import Any, cast

import gradio as gr
import pytest

from rag.app import Pipeline
from rag.errors import BadInputError
from rag.web.chat import UNEXPECTED, ChatHandlers

QUESTION = "Who is Steve Witkoff?"
BUG = "invalid literal for int() with base 10: '/secret/path'"


class FailingChain:
    """A chain that fails with `error` on every question."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def stream(self, payload: dict[str, Any]) -> Iterator[Any]:
        raise self.error

    def invoke(self, payload: dict[str, Any]) -> Any:
        raise self.error


class PipelineWith:
    def __init__(self, pipeline: Any, chain: Any) -> None:
        self.store, self.settings, self.chain = pipeline.store, pipeline.settings, chain


def shown_after(handlers: ChatHandlers) -> str:
    display, *_ = list(handlers.respond(QUESTION, []))[-1]
    return html.unescape(display[-1]["content"])


def test_a_plain_valueerror_is_a_bug_not_bad_input(
    seed_pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    handlers = ChatHandlers(
        cast(Pipeline, PipelineWith(seed_pipeline, FailingChain(ValueError(BUG))))
    )
    with caplog.at_level(logging.ERROR):
        shown = shown_after(handlers)
    assert UNEXPECTED in shown
    assert "invalid literal" not in shown and "/secret/path" not in shown
    assert "Traceback" not in shown
    assert any(r.exc_info and r.exc_info[0] is ValueError for r in caplog.records)  # logged

    with pytest.raises(gr.Error) as caught, caplog.at_level(logging.ERROR):
        handlers.chat(QUESTION)
    assert caught.value.message == UNEXPECTED
    assert isinstance(caught.value.__cause__, ValueError)


def test_the_projects_own_errors_are_shown_as_messages(seed_pipeline: Pipeline) -> None:
    error = BadInputError("the question is not about the documents")
    handlers = ChatHandlers(cast(Pipeline, PipelineWith(seed_pipeline, FailingChain(error))))
    shown = shown_after(handlers)
    assert "The question is not about the documents" in shown and UNEXPECTED not in shown
    with pytest.raises(gr.Error, match="The question is not about the documents"):
        handlers.chat(QUESTION)
