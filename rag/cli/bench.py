"""`rag bench`: measure the product on this machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.shared import DocsDir, JsonFlag, friendly_errors, load_settings, say, say_json


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
    index_rounds: Annotated[
        int, typer.Option(min=1, help="Index builds per backend (the median is reported).")
    ] = 2,
    fp32: Annotated[
        bool, typer.Option("--fp32/--no-fp32", help="Compare with plain fp32 embeddings.")
    ] = True,
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
        index_rounds=index_rounds,
        backend=settings.embedding_backend,
        fp32=fp32,
    )
    figures = run_bench(
        settings,
        options,
        lambda line: say(f"bench: {line}", err=True),
        retrieval_quality=retrieval_quality,
    )
    if json_output:
        say_json(json.dumps(figures))
        return
    for key, value in figures.items():
        say(f"{key:>28}  {value}")
