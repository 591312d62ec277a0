"""The Gradio chat page: streamed answers, [n] chips tied to collapsible sources, the /chat API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.app import Pipeline
from rag.errors import RagError
from rag.feedback import Rating
from rag.models import Answer

from .examples import ExampleQuestions
from .rate_limit import FEEDBACK_BUDGET, ClientBudgets, Refusal, refusal_in
from .render import (
    escape_text,
    render_answer,
    render_chat_header,
    render_error,
    render_partial,
    render_question,
)
from .served import ServedAnswers

log = logging.getLogger(__name__)

CSS_FILE = Path(__file__).parent / "static" / "chat.css"
UNEXPECTED = "Something went wrong while answering. Please try again in a moment."
ANSWER_GONE = "This answer is no longer stored."
THUMBS = {"up": "Like", "down": "Dislike"}  # a rating as the chat's feedback_value shows it
STORAGE_KEY = "rag-news-conversation"  # localStorage is per site (origin); one conversation each
MAX_TURNS = 50  # kept in the browser; older turns are dropped (and not sent as history)
# BrowserState encrypts what it stores; the conversation is the user's own, so a fixed key is
# fine and keeps it readable after a server restart.
STORAGE_SECRET = "rag-news-conversation-v1"
# Stored in the browser: what the user saw, without the retrieval details.
KEPT_FIELDS = {
    "id",
    "question",
    "answer",
    "refused",
    "citations",
    "short_answer",
    "related",
    "notice",
}

Message = dict[str, str]
Turn = dict[str, Any]  # {"question", "answer": Answer JSON | None, "error": str | None, "rating"}
ChatOutputs = tuple[list[Message], list[Turn], str, dict[str, Any] | None]


def document_texts(pipeline: Pipeline, answer: Answer) -> dict[str, str]:
    """The full text of every document the answer cites (for quotes in context)."""
    snapshot = pipeline.store.snapshot()
    texts: dict[str, str] = {}
    for citation in [*answer.citations, *answer.related]:
        if snapshot is not None and citation.source in snapshot.documents:
            texts[citation.source] = snapshot.document_text(citation.source)
    return texts


def history_of(turns: list[Turn]) -> list[Message]:
    """The conversation the chain gets: exactly the answered turns the user sees."""
    history: list[Message] = []
    for turn in turns:
        if turn.get("answer"):
            history.append({"role": "user", "content": str(turn["question"])})
            history.append({"role": "assistant", "content": str(turn["answer"]["answer"])})
    return history


def valid_turns(turns: Any) -> list[Turn]:
    """The turns read back from the browser, malformed ones dropped (it is the user's storage)."""
    kept: list[Turn] = []
    for turn in turns if isinstance(turns, list) else []:
        if not isinstance(turn, dict) or not isinstance(turn.get("question"), str):
            continue
        try:
            answer = Answer.model_validate(turn["answer"]) if turn.get("answer") else None
        except ValueError:
            continue
        kept.append(
            {
                "question": turn["question"],
                "answer": answer.model_dump(mode="json", include=KEPT_FIELDS) if answer else None,
                "error": str(turn["error"]) if turn.get("error") else None,
                "rating": turn.get("rating") if turn.get("rating") in {"up", "down"} else None,
            }
        )
    return kept[-MAX_TURNS:]


class ChatHandlers:
    """What the chat page's events call; plain methods so tests can call them directly."""

    def __init__(
        self,
        pipeline: Pipeline,
        served: ServedAnswers | None = None,
        budgets: ClientBudgets | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.served = served if served is not None else ServedAnswers(pipeline, None)
        # Ratings are Gradio events, not /api/feedback posts: they spend its budget here.
        self.budgets = budgets

    def render(self, turns: list[Turn]) -> list[Message]:
        """The chat messages for these turns: each turn is a question and its reply."""
        display: list[Message] = []
        for turn in turns:
            display.append({"role": "user", "content": render_question(turn["question"])})
            if turn.get("answer"):
                answer = Answer.model_validate(turn["answer"])
                content = render_answer(answer, document_texts(self.pipeline, answer))
            else:
                content = render_error(turn.get("error") or UNEXPECTED)
            display.append({"role": "assistant", "content": content})
        return display

    def restore(self, turns: Any, request: gr.Request | None = None) -> tuple[Any, Any]:
        """The saved conversation after a reload: messages, with the ratings given (over the
        rate limit, left in the browser for the next load)."""
        if over_rate_limit(request) is not None:
            return gr.skip(), gr.skip()
        kept = valid_turns(turns)
        messages: Any = self.render(kept)
        return gr.Chatbot(value=messages, feedback_value=ratings_shown(kept)), kept

    def respond(
        self, question: str, turns: list[Turn] | None, request: gr.Request | None = None
    ) -> Iterator[ChatOutputs]:
        """Stream one answer into the chat; `turns` is the conversation so far. Over the rate
        limit, the reply says when to try again."""
        turns = valid_turns(turns)
        refusal = over_rate_limit(request)
        if refusal is not None:
            yield self._failed(printable(question), turns, refusal.message)
            return
        # The chain reads the last turns only (its limit is a setting).
        limit = self.pipeline.settings.max_history_turns
        history = history_of(turns)[-limit:] if limit else []
        # A lone surrogate can't be sent back to the browser (Gradio's JSON encoder refuses it);
        # the chain still gets the original and says why it can't be answered.
        asked, question = question, printable(question)
        display = self.render(turns)
        shown = list(display)
        if question and question.strip():
            shown.append({"role": "user", "content": render_question(question)})
        try:
            stream = self.pipeline.chain.stream({"question": asked, "history": history})
            answer = next(stream)  # validation and retrieval happen here
            shown.append({"role": "assistant", "content": render_partial("")})
            yield list(shown), turns, "", None
            for chunk in stream:
                answer = answer + chunk
                if chunk.answer or getattr(chunk, "reset", False):
                    shown[-1] = {"role": "assistant", "content": render_partial(answer.answer)}
                    yield list(shown), turns, "", None
        except RagError as err:  # bad input, store down, …: the message is meant for the user
            yield self._failed(question, turns, _sentence(str(err)))
            return
        except Exception:  # a bug, not bad input: log the traceback, show a generic sentence
            log.exception("answering %r failed", question)
            yield self._failed(question, turns, UNEXPECTED)
            return
        answer = self.served.keep(answer, question, history)
        kept = answer.model_dump(mode="json", include=KEPT_FIELDS)
        turns = [*turns, {"question": question, "answer": kept, "error": None}][-MAX_TURNS:]
        yield self.render(turns), turns, "", answer.model_dump(mode="json")

    def _failed(self, question: str, turns: list[Turn], message: str) -> ChatOutputs:
        """The error shown as a reply; the question stays in the box so it can be fixed."""
        if question and question.strip():
            turns = [*turns, {"question": question, "answer": None, "error": message}]
            return self.render(turns), turns, question, None
        display = [*self.render(turns), {"role": "assistant", "content": render_error(message)}]
        return display, turns, question or "", None

    def clear(self) -> ChatOutputs:
        """Forget the conversation (also in the browser)."""
        return [], [], "", None

    def rate(
        self,
        turns: list[Turn] | None,
        like: gr.LikeData,
        pending: dict[str, str] | None = None,
        request: gr.Request | None = None,
    ) -> tuple[list[Turn], Any, Any, Any]:
        """👍/👎 on an answer: stored at once; the comment box opens for it. The same thumb
        pressed again withdraws the rating (`pending` is the rating the comment box is open for).

        The thumbs always show what is stored. When nothing could be stored (an error reply, an
        answer the store does not have, the store failing, or over the client's feedback
        budget), a warning says so: the click had already pressed a thumb in the browser."""
        turns = valid_turns(turns)
        refusal = over_rate_limit(request)
        if refusal is not None:
            gr.Warning(refusal.message)
            return turns, gr.skip(), gr.skip(), thumbs_stored(turns)
        position = turn_clicked(like)
        answer = turns[position].get("answer") if 0 <= position < len(turns) else None
        if not answer or not answer.get("id") or self.served.log is None:
            gr.Warning("Only stored answers can be rated; this one was not stored.")
            return turns, gr.skip(), gr.skip(), thumbs_stored(turns)
        answer_id = answer["id"]
        rating = rating_of(like.liked)
        if rating is None:
            return self._withdraw(turns, position, pending)
        if self._over_feedback_budget(request):
            return turns, gr.skip(), gr.skip(), thumbs_stored(turns)
        problem = self._store_rating(answer_id, rating, "")
        if problem is not None:
            gr.Warning(problem)
            if problem == ANSWER_GONE:  # and its rating with it
                turns[position] = {**turns[position], "rating": None}
            return turns, gr.skip(), gr.skip(), thumbs_stored(turns)
        turns[position] = {**turns[position], "rating": rating}
        label = "What was good? (optional)" if rating == "up" else "What was wrong? (optional)"
        pending = {"id": answer_id, "rating": rating}
        box = gr.Textbox(value="", label=label, visible=True)
        return turns, pending, box, thumbs_stored(turns)

    def rate_and_show(
        self,
        turns: list[Turn] | None,
        like: gr.LikeData,
        pending: dict[str, str] | None = None,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[Any, Any, Any, Any]]:
        """`rate` as the page calls it. Thumbs set back to what is stored are first set to what
        the click shows: a thumb keeps its own pressed state and follows `feedback_value` only
        when that value changes (setting None where it was None leaves the thumb pressed)."""
        outputs = self.rate(turns, like, pending, request)
        position, kept = turn_clicked(like), valid_turns(turns)
        if 0 <= position <= len(kept):
            clicked = ratings_shown(kept)
            clicked += [None] * (position + 1 - len(clicked))  # a reply shown but not kept
            clicked[position] = THUMBS.get(rating_of(like.liked) or "")
            if clicked != outputs[3].feedback_value:
                yield gr.skip(), gr.skip(), gr.skip(), gr.Chatbot(feedback_value=clicked)
        yield outputs

    def _withdraw(
        self, turns: list[Turn], position: int, pending: dict[str, str] | None
    ) -> tuple[list[Turn], Any, Any, Any]:
        """The rating of the answer at `position` deleted; its comment box, if open, shut.

        Not counted in the feedback budget, nor refused by it: it adds nothing to the store."""
        answer_id = turns[position]["answer"]["id"]
        problem = self._store_rating(answer_id, None, "")
        if problem is not None and problem != ANSWER_GONE:  # gone: so is its rating
            gr.Warning(problem)
            return turns, gr.skip(), gr.skip(), thumbs_stored(turns)
        turns[position] = {**turns[position], "rating": None}
        if pending is None or pending.get("id") != answer_id:  # the box is another answer's
            return turns, gr.skip(), gr.skip(), thumbs_stored(turns)
        return turns, None, gr.Textbox(value="", visible=False), thumbs_stored(turns)

    def comment(
        self, pending: dict[str, str] | None, text: str, request: gr.Request | None = None
    ) -> tuple[Any, Any]:
        """The optional comment on the rating just given (kept in its box when over budget)."""
        if pending and text.strip():
            refusal = over_rate_limit(request)
            if refusal is not None:
                gr.Warning(refusal.message)
                return gr.skip(), gr.skip()
            if self._over_feedback_budget(request):
                return gr.skip(), gr.skip()
            rating: Rating = "up" if pending["rating"] == "up" else "down"
            problem = self._store_rating(pending["id"], rating, text)
            if problem is not None:
                raise gr.Error(problem, print_exception=False)
            gr.Info("Thanks, your comment is saved.")
        return None, gr.Textbox(value="", visible=False)

    def _store_rating(self, answer_id: str, rating: Rating | None, comment: str) -> str | None:
        """Store the rating (None withdraws it); what went wrong, for the user, or None."""
        if self.served.log is None:
            return ANSWER_GONE
        try:
            if rating is None:
                found = self.served.log.withdraw(answer_id)
            else:
                found = self.served.log.rate(answer_id, rating, comment)
        except RagError as err:
            return _sentence(str(err))
        return None if found else ANSWER_GONE

    def _over_feedback_budget(self, request: gr.Request | None) -> bool:
        """Count a rating in its client's feedback budget; True (with a warning) when refused."""
        if self.budgets is None or not (budgets := self.budgets.named(FEEDBACK_BUDGET)):
            return False
        # The page's event arrives as a POST to Gradio's queue: its request names the client.
        http = request.request if request is not None else None
        key = self.budgets.client(http.scope) if http is not None else "unknown"
        refusal = self.budgets.spend(budgets, key)
        if refusal is not None:
            gr.Warning(refusal.message)
        return refusal is not None

    def chat(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        request: gr.Request | None = None,
    ) -> dict[str, Any]:
        """The `rag ask --json` object (plus its id) for `question` after `history`."""
        refusal = over_rate_limit(request)
        if refusal is not None:
            raise gr.Error(refusal.message, print_exception=False)
        history = history or []
        try:
            answer = self.pipeline.chain.invoke({"question": question, "history": history})
        except RagError as err:
            raise gr.Error(_sentence(str(err)), print_exception=False) from err
        except Exception as err:  # a bug, not bad input: log it, never show its text
            log.exception("answering %r through /chat failed", question)
            raise gr.Error(UNEXPECTED, print_exception=False) from err
        return self.served.keep(answer, question, history).model_dump(mode="json")


def over_rate_limit(request: gr.Request | None) -> Refusal | None:
    """The client's refusal when its event came in over RAG_RATE_LIMIT (see rate_limit.py)."""
    http = request.request if request is not None else None
    return refusal_in(http.scope) if http is not None else None


def turn_clicked(like: gr.LikeData) -> int:
    """The turn whose reply a thumb is on (each turn is two messages: question, reply)."""
    index = like.index if isinstance(like.index, int) else like.index[0]
    return index // 2


def rating_of(liked: bool | str) -> Rating | None:
    """What a thumb click means: "up", "down", or None when it un-pressed a pressed thumb
    (Gradio then sends "" rather than True/False)."""
    if liked is True or liked == "Like":
        return "up"
    if liked is False or liked == "Dislike":
        return "down"
    return None


def ratings_shown(turns: list[Turn]) -> list[str | None]:
    """The chat's thumbs for these turns: the rating each stored, one per reply."""
    return [THUMBS.get(t.get("rating") or "") for t in turns]


def thumbs_stored(turns: list[Turn]) -> gr.Chatbot:
    """The chat's thumbs set to the ratings stored (a click may have pressed another)."""
    return gr.Chatbot(feedback_value=ratings_shown(turns))


def printable(text: str | None) -> str:
    """`text` with any lone surrogate replaced, so that it can be encoded for the browser."""
    return (text or "").encode("utf-8", "replace").decode("utf-8")


def _sentence(message: str) -> str:
    """An error message as a sentence a reader expects ("The question is empty: …")."""
    message = message.strip()
    return message[:1].upper() + message[1:] if message else UNEXPECTED


def document_count(pipeline: Pipeline) -> int:
    snapshot = pipeline.store.snapshot()
    return len(snapshot.documents) if snapshot is not None else 0


def as_built(examples: ExampleQuestions) -> list[Any]:
    """The index view's outputs left as the page was built (one per output of `index_view`)."""
    return [gr.skip()] * (1 if examples.fixed is not None else 2 + examples.slots)


def index_view(
    pipeline: Pipeline, examples: ExampleQuestions, request: gr.Request | None = None
) -> list[Any]:
    """What a page load shows of the index as it is now: the header's document count, then (if
    they follow the index) the examples' row and one update per chip slot. Over the rate limit,
    what the page was built with."""
    if over_rate_limit(request) is not None:
        return as_built(examples)
    try:
        header = render_chat_header(document_count(pipeline))
        shown = examples.current()
    except RagError as err:  # the store is down: keep what the page was built with
        log.warning("the chat page shows the index as it was: %s", err)
        return as_built(examples)
    if examples.fixed is not None:
        return [header]
    chips = [gr.Button(value=question, visible=True) for question in shown]
    chips += [gr.Button(visible=False) for _ in range(examples.slots - len(shown))]
    return [header, gr.Row(visible=bool(shown)), *chips]


def build_chat(
    pipeline: Pipeline,
    examples: ExampleQuestions,
    served: ServedAnswers | None = None,
    budgets: ClientBudgets | None = None,
) -> gr.Blocks:
    """The chat page as Gradio Blocks (mounted by ui.server); `budgets` limit its ratings.

    Examples that follow the index are filled in on each page load (hidden until then)."""
    handlers = ChatHandlers(pipeline, served, budgets)
    fixed = examples.fixed
    with gr.Blocks(title="Ask the news", fill_height=True, analytics_enabled=False) as blocks:
        with gr.Row(elem_id="rag-top", equal_height=True):
            header = gr.HTML(render_chat_header(document_count(pipeline)), elem_id="rag-header-box")
            clear = gr.Button(
                "New conversation", variant="secondary", size="sm", scale=0, elem_id="rag-clear"
            )
        chatbot = gr.Chatbot(
            elem_id="rag-chatbot",
            show_label=False,
            height="62vh",
            min_height=300,
            layout="bubble",
            sanitize_html=True,
            allow_tags=False,
            latex_delimiters=[],
            buttons=["copy"],
            feedback_options=("Like", "Dislike"),
            placeholder=escape_text(
                "Ask a question about the documents, or pick an example below."
            ),
        )
        turns = gr.BrowserState([], storage_key=STORAGE_KEY, secret=STORAGE_SECRET)
        pending = gr.State(None)
        comment = gr.Textbox(
            visible=False,
            max_lines=4,
            max_length=2000,
            submit_btn="Send",
            elem_id="rag-comment",
            placeholder="Your comment helps turn this question into a test case.",
        )
        with gr.Row(equal_height=True, elem_id="rag-ask-row"):
            question = gr.Textbox(
                placeholder="Ask about the news…",
                show_label=False,
                scale=8,
                min_width=0,
                autofocus=True,
                max_lines=4,
                elem_id="rag-question",
            )
            ask = gr.Button("Ask", variant="primary", scale=0, min_width=64, elem_id="rag-ask")
        answer_json = gr.JSON(visible=False)
        outputs = [chatbot, turns, question, answer_json]
        with gr.Row(elem_id="rag-examples", visible=bool(fixed)) as example_row:
            gr.HTML('<span class="rag-try">Try:</span>', elem_classes="rag-try-box")
            chips = []
            for slot in range(examples.slots):
                chip = gr.Button(
                    fixed[slot] if fixed else "",
                    visible=fixed is not None,
                    size="sm",
                    elem_classes="rag-chip",
                    min_width=0,
                )
                chip.click(
                    handlers.respond,
                    [chip, turns],
                    outputs,
                    api_visibility="private",
                    show_progress="hidden",
                )
                chips.append(chip)
        for trigger in (question.submit, ask.click):
            trigger(
                handlers.respond,
                [question, turns],
                outputs,
                api_visibility="private",
                show_progress="hidden",
            )
        clear.click(handlers.clear, None, outputs, api_visibility="private")
        chatbot.like(
            handlers.rate_and_show,
            [turns, pending],
            [turns, pending, comment, chatbot],
            api_visibility="private",
            show_progress="hidden",
        )
        comment.submit(
            handlers.comment, [pending, comment], [pending, comment], api_visibility="private"
        )
        blocks.load(handlers.restore, [turns], [chatbot, turns], api_visibility="private")

        def current_index(request: gr.Request) -> list[Any]:
            return index_view(pipeline, examples, request)

        blocks.load(
            current_index,
            None,
            [header] if fixed is not None else [header, example_row, *chips],
            api_visibility="private",
            show_progress="hidden",
        )
        gr.api(handlers.chat, api_name="chat")
    return blocks
