"""`rag ask` and `rag chat`: questions in the terminal, answers with their sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rag.cli.shared import (
    DocsDir,
    IndexDir,
    JsonFlag,
    LlmOption,
    TopK,
    friendly_errors,
    load_settings,
    pipeline_for,
    say,
    say_json,
)
from rag.errors import BadInputError

if TYPE_CHECKING:
    from rag.models import Answer


def read_history(path: Path | None) -> list[Any]:
    if path is None:
        return []
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadInputError(f"cannot read history file {path}: {err}") from err
    except RecursionError as err:
        raise BadInputError(f"cannot read history file {path}: nested too deeply") from err
    if not isinstance(history, list):
        raise BadInputError(f"history file {path} must hold a JSON list of messages")
    return history


def render_answer(answer: Answer) -> str:
    """The answer, then its numbered sources with their quotes; a refusal, then the passages
    nearest what was asked (`related`), under the label the chat and the widget use."""
    from rag.web.render import RELATED_LABEL

    lines = [f"({answer.notice})", ""] if answer.notice else []
    lines.append(answer.answer)
    listed = [("Sources", answer.citations), (RELATED_LABEL, answer.related)]
    for label, citations in listed:
        if not citations:
            continue
        lines += ["", f"{label}:"]
        for c in citations:
            where = f" — {c.section}" if c.section else ""
            lines.append(f"[{c.n}] {c.title}{where} ({c.source}, chars {c.start}-{c.end})")
            lines.append(f"    “{c.quote}”")
    return "\n".join(lines)


@friendly_errors
def ask(
    question: Annotated[str, typer.Argument(metavar="QUESTION", help="Your question.")],
    json_output: JsonFlag = False,
    k: TopK = None,
    history_file: Annotated[
        Path | None, typer.Option("--history-file", help="JSON list of earlier messages.")
    ] = None,
    llm: LlmOption = None,
    index_dir: IndexDir = None,
    docs: DocsDir = None,
) -> None:
    """Answer one question with cited sources (indexes the documents first if needed)."""
    from rag.answer.followup import normalize_history
    from rag.answer.question import clean_question

    settings = load_settings(index_dir, docs, top_k=k, llm=llm)
    clean_question(question, settings.max_question_chars)  # fail fast, before loading models
    history = normalize_history(
        read_history(history_file), settings.max_history_turns, settings.max_history_chars
    )
    pipeline = pipeline_for(settings)
    pipeline.ensure_index()
    answer = pipeline.chain.invoke({"question": question, "history": history})
    if json_output:
        say_json(answer.model_dump_json(exclude={"id"}))  # nothing is stored: no id
    else:
        say(render_answer(answer))


@friendly_errors
def chat(llm: LlmOption = None, index_dir: IndexDir = None, docs: DocsDir = None) -> None:
    """A conversation in the terminal (/clear forgets it, /quit or Ctrl-D leaves)."""
    pipeline = pipeline_for(load_settings(index_dir, docs, llm=llm))
    pipeline.ensure_index()
    documents = pipeline.store.require_snapshot().documents
    say(f"Ask about {len(documents)} document(s). /clear to start over, /quit to leave.")
    history: list[dict[str, str]] = []
    while True:
        try:
            question = input("\nyou> ")
        except (EOFError, KeyboardInterrupt):
            say("")
            return
        if question.strip() in {"/quit", "/exit"}:
            return
        if question.strip() == "/clear":
            history.clear()
            say("(conversation cleared)")
            continue
        try:
            answer = pipeline.chain.invoke({"question": question, "history": history})
        except BadInputError as err:
            say(f"({err})")
            continue
        say(render_answer(answer))
        history += [
            {"role": "user", "content": answer.question},
            {"role": "assistant", "content": answer.answer},
        ]
