"""The chat page's handlers called directly: streaming, sources, follow-ups, refusals, errors."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any, cast

import gradio as gr
import pytest

from rag.app import Pipeline
from rag.models import REFUSAL
from rag.web.chat import UNEXPECTED, ChatHandlers, build_chat, history_of
from rag.web.examples import ExampleQuestions

QUESTION = "Who is Steve Witkoff?"


class RecordingChain:
    """The real chain, remembering every input it was given."""

    def __init__(self, chain: Any) -> None:
        self.chain = chain
        self.inputs: list[dict[str, Any]] = []

    def stream(self, payload: dict[str, Any]) -> Iterator[Any]:
        self.inputs.append(payload)
        return self.chain.stream(payload)

    def invoke(self, payload: dict[str, Any]) -> Any:
        self.inputs.append(payload)
        return self.chain.invoke(payload)


class PipelineWith:
    """The seed pipeline with another chain in front."""

    def __init__(self, pipeline: Pipeline, chain: Any) -> None:
        self.store, self.settings, self.chain = pipeline.store, pipeline.settings, chain


def test_answer_streams_in_then_shows_linked_sources(seed_pipeline: Pipeline) -> None:
    steps = list(ChatHandlers(seed_pipeline).respond(QUESTION, []))
    assert len(steps) > 5, "the answer should arrive in pieces"
    partial_texts = [step[0][-1]["content"] for step in steps[:-1]]
    assert all("rag-streaming" in text for text in partial_texts)
    assert len(partial_texts[-1]) > len(partial_texts[1])  # it grows

    display, turns, textbox, answer = steps[-1]
    assert textbox == "" and answer is not None
    assert display[0]["role"] == "user" and "Steve Witkoff" in display[0]["content"]
    final = display[-1]["content"]
    assert "rag-streaming" not in final and "rag-answer" in final
    for citation in answer["citations"]:
        link = f"/source/{citation['source']}?start={citation['start']}&amp;end={citation['end']}"
        assert html.unescape(link) in html.unescape(final)
        assert citation["title"] in html.unescape(final)
    assert final.count("<details") == len(answer["citations"]) >= 1
    assert history_of(turns) == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": answer["answer"]},
    ]
    assert answer == seed_pipeline.chain.invoke({"question": QUESTION}).model_dump(mode="json") | {
        "timings_ms": answer["timings_ms"]
    }


def test_follow_up_passes_the_conversation_to_the_chain(seed_pipeline: Pipeline) -> None:
    recording = RecordingChain(seed_pipeline.chain)
    handlers = ChatHandlers(cast(Pipeline, PipelineWith(seed_pipeline, recording)))
    *_, (display, turns, _, _) = handlers.respond(QUESTION, [])
    *_, (display, turns, _, answer) = handlers.respond("What did he spend days doing?", turns)
    assert answer is not None
    assert recording.inputs[-1]["history"][0] == {"role": "user", "content": QUESTION}
    assert len(recording.inputs[-1]["history"]) == 2
    assert "30-day freeze" in answer["answer"]
    assert len(display) == 4 and len(history_of(turns)) == 4


def test_a_question_the_documents_cannot_answer_is_a_styled_refusal(
    seed_pipeline: Pipeline,
) -> None:
    *_, (display, _, _, answer) = ChatHandlers(seed_pipeline).respond(
        "What is the boiling point of tungsten?", []
    )
    assert answer is not None and answer["refused"] is True
    assert "rag-refusal" in display[-1]["content"]
    assert html.unescape(REFUSAL) in html.unescape(display[-1]["content"])


@pytest.mark.parametrize(
    ("question", "expected"),
    [("   ", "The question is empty"), ("x" * 5000, "The question is too long")],
)
def test_bad_questions_get_a_friendly_message(
    seed_pipeline: Pipeline, question: str, expected: str
) -> None:
    steps = list(ChatHandlers(seed_pipeline).respond(question, []))
    display, turns, textbox, answer = steps[-1]
    assert "rag-error" in display[-1]["content"]
    assert expected in html.unescape(display[-1]["content"])
    assert history_of(turns) == [] and answer is None
    assert textbox == question  # kept, so the user can fix it


def test_unexpected_failures_never_show_a_traceback(seed_pipeline: Pipeline) -> None:
    class BrokenChain:
        def stream(self, payload: dict[str, Any]) -> Iterator[Any]:
            raise RuntimeError("disk on fire at /secret/path")

    handlers = ChatHandlers(cast(Pipeline, PipelineWith(seed_pipeline, BrokenChain())))
    display, *_ = list(handlers.respond(QUESTION, []))[-1]
    shown = html.unescape(display[-1]["content"])
    assert UNEXPECTED in shown
    assert "Traceback" not in shown and "/secret/path" not in shown


def test_clear_forgets_everything(seed_pipeline: Pipeline) -> None:
    assert ChatHandlers(seed_pipeline).clear() == ([], [], "", None)


def test_chat_api_returns_the_ask_json_object(seed_pipeline: Pipeline) -> None:
    handlers = ChatHandlers(seed_pipeline)
    answer = handlers.chat(QUESTION)
    expected = seed_pipeline.chain.invoke({"question": QUESTION}).model_dump(mode="json")
    assert set(answer) == set(expected)
    assert answer["answer"] == expected["answer"] and answer["citations"] == expected["citations"]
    assert answer["citations"] and not answer["refused"]
    with pytest.raises(gr.Error, match="The question is empty"):
        handlers.chat("")


def test_the_page_exposes_only_the_chat_api(seed_pipeline: Pipeline) -> None:
    blocks = build_chat(seed_pipeline, ExampleQuestions(seed_pipeline, ["Who is Marco Rubio?"]))
    public = [
        dep["api_name"]
        for dep in blocks.config["dependencies"]
        if dep.get("api_visibility", "public") == "public"
    ]
    assert public == ["chat"]
