"""The Gradio chat page: streamed answers, [n] chips tied to collapsible sources, the /chat API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.app import Pipeline
from rag.errors import RagError
from rag.models import Answer

from .render import (
    escape_text,
    render_answer,
    render_chat_header,
    render_error,
    render_partial,
    render_question,
)

log = logging.getLogger(__name__)

CSS_FILE = Path(__file__).parent / "static" / "chat.css"
UNEXPECTED = "Something went wrong while answering. Please try again in a moment."

Message = dict[str, str]
ChatOutputs = tuple[list[Message], list[Message], str, dict[str, Any] | None]


def document_texts(pipeline: Pipeline, answer: Answer) -> dict[str, str]:
    """The full text of every document the answer cites (for quotes in context)."""
    snapshot = pipeline.store.snapshot()
    texts: dict[str, str] = {}
    for citation in answer.citations:
        if snapshot is not None and citation.source in snapshot.documents:
            texts[citation.source] = snapshot.document_text(citation.source)
    return texts


class ChatHandlers:
    """What the chat page's events call; plain methods so tests can call them directly."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def respond(
        self, question: str, display: list[Message] | None, conversation: list[Message] | None
    ) -> Iterator[ChatOutputs]:
        """Stream one answer into the chat; `conversation` is the plain-text history."""
        display = list(display or [])
        # What the page keeps: the chain reads the last turns only (its limit is a setting).
        conversation = list(conversation or [])
        conversation = conversation[
            max(0, len(conversation) - self.pipeline.settings.max_history_turns) :
        ]
        # A lone surrogate can't be sent back to the browser (Gradio's JSON encoder refuses it);
        # the chain still gets the original and says why it can't be answered.
        asked, question = question, printable(question)
        if question and question.strip():
            display.append({"role": "user", "content": render_question(question)})
        try:
            stream = self.pipeline.chain.stream({"question": asked, "history": conversation})
            answer = next(stream)  # validation and retrieval happen here
            display.append({"role": "assistant", "content": render_partial("")})
            yield list(display), conversation, "", None
            for chunk in stream:
                answer = answer + chunk
                if chunk.answer or getattr(chunk, "reset", False):
                    display[-1] = {"role": "assistant", "content": render_partial(answer.answer)}
                    yield list(display), conversation, "", None
        except RagError as err:  # bad input, store down, …: the message is meant for the user
            display = [m for m in display if "rag-streaming" not in m["content"]]
            display.append({"role": "assistant", "content": render_error(_sentence(str(err)))})
            yield display, conversation, question or "", None
            return
        except Exception:  # a bug, not bad input: log the traceback, show a generic sentence
            log.exception("answering %r failed", question)
            display = [m for m in display if "rag-streaming" not in m["content"]]
            display.append({"role": "assistant", "content": render_error(UNEXPECTED)})
            yield display, conversation, question or "", None
            return
        display[-1] = {
            "role": "assistant",
            "content": render_answer(answer, document_texts(self.pipeline, answer)),
        }
        conversation = [
            *conversation,
            {"role": "user", "content": answer.question},
            {"role": "assistant", "content": answer.answer},
        ]
        yield display, conversation, "", answer.model_dump(mode="json")

    def clear(self) -> ChatOutputs:
        """Forget the conversation."""
        return [], [], "", None

    def chat(self, question: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """The `rag ask --json` object for `question` after `history` (OpenAI-style messages)."""
        try:
            answer = self.pipeline.chain.invoke({"question": question, "history": history or []})
        except RagError as err:
            raise gr.Error(_sentence(str(err)), print_exception=False) from err
        except Exception as err:  # a bug, not bad input: log it, never show its text
            log.exception("answering %r through /chat failed", question)
            raise gr.Error(UNEXPECTED, print_exception=False) from err
        return answer.model_dump(mode="json")


def printable(text: str | None) -> str:
    """`text` with any lone surrogate replaced, so that it can be encoded for the browser."""
    return (text or "").encode("utf-8", "replace").decode("utf-8")


def _sentence(message: str) -> str:
    """An error message as a sentence a reader expects ("The question is empty: …")."""
    message = message.strip()
    return message[:1].upper() + message[1:] if message else UNEXPECTED


def build_chat(pipeline: Pipeline, examples: list[str]) -> gr.Blocks:
    """The chat page as Gradio Blocks (mounted by ui.server)."""
    handlers = ChatHandlers(pipeline)
    snapshot = pipeline.store.snapshot()
    count = len(snapshot.documents) if snapshot is not None else 0
    with gr.Blocks(title="Ask the news", fill_height=True, analytics_enabled=False) as blocks:
        gr.HTML(render_chat_header(count))
        chatbot = gr.Chatbot(
            elem_id="rag-chatbot",
            show_label=False,
            height="62vh",
            min_height=360,
            layout="bubble",
            sanitize_html=True,
            allow_tags=False,
            latex_delimiters=[],
            buttons=["copy"],
            feedback_options=None,
            placeholder=escape_text(
                "Ask a question about the documents, or pick an example below."
            ),
        )
        conversation = gr.State([])
        with gr.Row(equal_height=True):
            question = gr.Textbox(
                placeholder="Ask about the news…",
                show_label=False,
                scale=8,
                autofocus=True,
                max_lines=4,
                elem_id="rag-question",
            )
            ask = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-ask")
            clear = gr.Button("Clear", variant="secondary", scale=1, elem_id="rag-clear")
        if examples:
            gr.Examples(examples, inputs=question, label="Try one of these")
        answer_json = gr.JSON(visible=False)
        outputs = [chatbot, conversation, question, answer_json]
        for trigger in (question.submit, ask.click):
            trigger(
                handlers.respond,
                [question, chatbot, conversation],
                outputs,
                api_visibility="private",
                show_progress="hidden",
            )
        clear.click(handlers.clear, None, outputs, api_visibility="private")
        # the chatbot's own trash icon must forget the conversation too
        chatbot.clear(handlers.clear, None, outputs, api_visibility="private")
        gr.api(handlers.chat, api_name="chat")
    return blocks
