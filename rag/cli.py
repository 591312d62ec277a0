"""The `rag` command: ingest, ask, chat (and more as the product grows)."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import click
import typer

from rag.errors import BadInputError, NoDocumentsError, RagError

if TYPE_CHECKING:
    from rag.app import Pipeline
    from rag.models import Answer
    from rag.settings import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Ask questions about your documents, offline, with cited answers.",
)
F = TypeVar("F", bound=Callable[..., Any])

IndexDir = Annotated[Path | None, typer.Option("--index-dir", help="Index folder (RAG_INDEX_DIR).")]
DocsDir = Annotated[Path | None, typer.Option("--docs", help="Documents folder (RAG_DOCS_DIR).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
LlmOption = Annotated[
    str | None,
    typer.Option(
        "--llm", help="extractive (default), tiny-local, hf:<folder> or provider:model (RAG_LLM)."
    ),
]


def friendly_errors(func: F) -> F:
    """Turn every failure into one line on stderr and an exit code: 2 bad input, 1 otherwise."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (BadInputError, NoDocumentsError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None
        except RagError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, click.exceptions.ClickException):
            raise  # click's own exits and usage errors (Exit subclasses RuntimeError in click 8.5)
        except Exception as err:  # the edge: never show a traceback to a user
            logging.getLogger(__name__).debug("unexpected error", exc_info=True)
            typer.echo(f"error: unexpected {type(err).__name__}: {err}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def load_settings(
    index_dir: Path | None = None, docs: Path | None = None, **extra: Any
) -> Settings:
    """Settings from env/.env with CLI flags on top."""
    from pydantic import ValidationError

    from rag.settings import Settings

    try:
        settings = Settings()
    except ValidationError as err:
        raise BadInputError(f"invalid RAG_* setting: {err.errors()[0]['msg']}") from None
    updates = {"index_dir": index_dir, "docs_dir": docs, **extra}
    return settings.model_copy(update={k: v for k, v in updates.items() if v is not None})


def pipeline_for(settings: Settings) -> Pipeline:
    """The pipeline `settings` describe (loads the embedding model)."""
    from rag.app import build_pipeline

    return build_pipeline(settings)


@app.command()
@friendly_errors
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: docs).")
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Rebuild the index from scratch.")] = False,
    json_output: JsonFlag = False,
    index_dir: IndexDir = None,
    docs: DocsDir = None,
) -> None:
    """Index documents (.txt, .md, .html, .pdf); unchanged files are skipped."""
    pipeline = pipeline_for(load_settings(index_dir, docs))
    progress = None if json_output else (lambda line: typer.echo(f"indexing {line}", err=True))
    summary = pipeline.ingest(list(paths) if paths else None, reset=reset, progress=progress)
    if json_output:
        typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
        return
    for skipped in summary.skipped:
        typer.echo(f"warning: skipped {skipped['path']}: {skipped['reason']}", err=True)
    typer.echo(
        f"{summary.added} added, {summary.updated} updated, {summary.removed} removed, "
        f"{summary.unchanged} unchanged; {summary.chunks} chunks in the index"
    )


def read_history(path: Path | None) -> list[Any]:
    if path is None:
        return []
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadInputError(f"cannot read history file {path}: {err}") from None
    if not isinstance(history, list):
        raise BadInputError(f"history file {path} must hold a JSON list of messages")
    return history


def render_answer(answer: Answer) -> str:
    """The answer, then its numbered sources with their quotes."""
    lines = [f"({answer.notice})", ""] if answer.notice else []
    lines.append(answer.answer)
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            where = f" — {c.section}" if c.section else ""
            lines.append(f"[{c.n}] {c.title}{where} ({c.source}, chars {c.start}-{c.end})")
            lines.append(f"    “{c.quote}”")
    return "\n".join(lines)


@app.command()
@friendly_errors
def ask(
    question: Annotated[str, typer.Argument(help="Your question.")],
    json_output: JsonFlag = False,
    k: Annotated[int | None, typer.Option("--k", min=1, max=50, help="Chunks to retrieve.")] = None,
    history_file: Annotated[
        Path | None, typer.Option("--history-file", help="JSON list of earlier messages.")
    ] = None,
    llm: LlmOption = None,
    index_dir: IndexDir = None,
    docs: DocsDir = None,
) -> None:
    """Answer one question with cited sources (indexes the documents first if needed)."""
    from rag.answer.chain import clean_question

    settings = load_settings(index_dir, docs, top_k=k, llm=llm)
    clean_question(question, settings.max_question_chars)  # fail fast, before loading models
    history = read_history(history_file)
    pipeline = pipeline_for(settings)
    pipeline.ensure_index()
    answer = pipeline.chain.invoke({"question": question, "history": history})
    if json_output:
        typer.echo(answer.model_dump_json())
    else:
        typer.echo(render_answer(answer))


@app.command()
@friendly_errors
def chat(llm: LlmOption = None, index_dir: IndexDir = None, docs: DocsDir = None) -> None:
    """A conversation in the terminal (/clear forgets it, /quit or Ctrl-D leaves)."""
    pipeline = pipeline_for(load_settings(index_dir, docs, llm=llm))
    pipeline.ensure_index()
    documents = pipeline.store.require_snapshot().documents
    typer.echo(f"Ask about {len(documents)} document(s). /clear to start over, /quit to leave.")
    history: list[dict[str, str]] = []
    while True:
        try:
            question = input("\nyou> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if question.strip() in {"/quit", "/exit"}:
            return
        if question.strip() == "/clear":
            history.clear()
            typer.echo("(conversation cleared)")
            continue
        try:
            answer = pipeline.chain.invoke({"question": question, "history": history})
        except BadInputError as err:
            typer.echo(f"({err})")
            continue
        typer.echo(render_answer(answer))
        history += [
            {"role": "user", "content": answer.question},
            {"role": "assistant", "content": answer.answer},
        ]


@app.command()
@friendly_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7860,
    llm: LlmOption = None,
    index_dir: IndexDir = None,
    docs: DocsDir = None,
) -> None:
    """Serve the chat window, the HTTP API and the embeddable widget."""
    from rag.web.server import bind, create_app, make_server, url_of

    settings = load_settings(index_dir, docs, llm=llm)
    sock = bind(host, port)  # fail fast (port taken) before loading models
    pipeline = pipeline_for(settings)
    if pipeline.ensure_index() is not None:
        typer.echo(f"indexed {settings.docs_dir}", err=True)
    pipeline.warm_up()
    server = make_server(create_app(pipeline))
    url = url_of(sock, host)
    typer.echo(f"Chat: {url}/   API: {url}/docs   Embed: {url}/embed   (Ctrl-C to stop)")
    server.run(sockets=[sock])


@app.command("eval")
@friendly_errors
def evaluate(
    questions: Annotated[Path, typer.Argument(help="Question set (.jsonl or .csv).")],
    index_dir: IndexDir = None,
    docs: DocsDir = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the four report files.")] = Path(
        "eval-out"
    ),
    k: Annotated[int | None, typer.Option("--k", min=1, max=50, help="Chunks to retrieve.")] = None,
    minimum: Annotated[
        list[str] | None,
        typer.Option("--min", metavar="METRIC=VALUE", help="Fail (exit 1) below this; repeatable."),
    ] = None,
    maximum: Annotated[
        list[str] | None,
        typer.Option(
            "--max",
            metavar="METRIC=VALUE",
            help="Fail (exit 1) above this, for lower-is-better metrics; repeatable.",
        ),
    ] = None,
    compare_to: Annotated[
        Path | None, typer.Option("--compare", help="An earlier report.json: print the deltas.")
    ] = None,
    llm: LlmOption = None,
) -> None:
    """Run a question set, score it, write reports, and gate on minimum metrics."""
    from rag.evaluation.console import compare_lines, gate_lines, metric_lines
    from rag.evaluation.dataset import load_questions
    from rag.evaluation.gates import GateFailedError, load_previous, parse_gate
    from rag.evaluation.progress import IngestBar, QuestionBar
    from rag.evaluation.report import add_gates_and_comparison, write_reports
    from rag.evaluation.runner import run_questions

    logging.getLogger("eval").setLevel(logging.WARNING)  # question-file warnings reach the user
    gates = [parse_gate(g, "min") for g in minimum or []]
    gates += [parse_gate(g, "max") for g in maximum or []]
    previous = load_previous(compare_to) if compare_to else None
    question_set = load_questions(questions)  # all input checked before the models load
    pipeline = pipeline_for(load_settings(index_dir, docs, top_k=k, llm=llm))
    ingest_bar = IngestBar()
    try:
        pipeline.ingest(progress=ingest_bar)
    finally:
        ingest_bar.close()
    question_bar = QuestionBar(len(question_set))
    try:
        report = run_questions(pipeline, question_set, k, question_bar, questions_path=questions)
    finally:
        question_bar.close()
    add_gates_and_comparison(report, gates, previous)
    snapshot = pipeline.store.require_snapshot()
    paths = write_reports(report, out, snapshot.document_text, gates, previous)
    typer.echo("\n".join(metric_lines(report)))
    if previous is not None:
        typer.echo("\n" + "\n".join(compare_lines(report["compare"], str(compare_to))))
    if gates:
        typer.echo("\n" + "\n".join(gate_lines(report)))
    typer.echo(f"\nwrote {', '.join(str(p) for p in paths)}")
    failed = [g for g in report.get("gates", []) if not g["passed"]]
    if failed:
        names = ", ".join(
            f"{g['metric']} {'<' if g['kind'] == 'min' else '>'} {g['threshold']:g}" for g in failed
        )
        raise GateFailedError(f"{len(failed)} gate(s) failed: {names}")


@app.command()
@friendly_errors
def bench(
    docs: DocsDir = None,
    questions: Annotated[
        Path | None, typer.Option("--questions", help="Question set (.jsonl) or text file.")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=200, help="Load-test clients.")] = 20,
    duration: Annotated[float, typer.Option(min=1, help="Load-test seconds.")] = 30.0,
    articles: Annotated[
        int, typer.Option(min=12, help="Synthetic news articles when no --docs is given.")
    ] = 531,
    repeats: Annotated[int, typer.Option(min=1, help="Passes over the questions.")] = 20,
    json_output: JsonFlag = False,
) -> None:
    """Measure indexing, embedding, latency in-process and over HTTP, load, cold start, memory."""
    from rag.bench import BenchOptions, run_bench
    from rag.evaluation.retrieval_quality import retrieval_quality

    settings = load_settings()
    options = BenchOptions(
        docs=docs,
        questions=questions,
        concurrency=concurrency,
        duration_s=duration,
        articles=articles,
        repeats=repeats,
        backend=settings.embedding_backend,
    )
    figures = run_bench(
        settings,
        options,
        lambda line: typer.echo(f"bench: {line}", err=True),
        retrieval_quality=retrieval_quality,
    )
    if json_output:
        typer.echo(json.dumps(figures))
        return
    for key, value in figures.items():
        typer.echo(f"{key:>28}  {value}")


def main() -> None:
    """Console entry point."""
    from rag.embeddings import force_offline

    force_offline()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s: %(message)s", stream=sys.stderr)
    app()
