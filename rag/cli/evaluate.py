"""`rag eval`: run a question set, write the reports, gate on the metrics."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.shared import (
    DocsDir,
    IndexDir,
    LlmOption,
    TopK,
    friendly_errors,
    load_settings,
    pipeline_for,
    say,
)


@friendly_errors
def evaluate(
    questions: Annotated[
        Path, typer.Argument(metavar="QUESTIONS", help="Question set (.jsonl or .csv).")
    ],
    index_dir: IndexDir = None,
    docs: DocsDir = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the four report files.")] = Path(
        "eval-out"
    ),
    k: TopK = None,
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

    # question-file warnings reach the user
    logging.getLogger("rag.evaluation").setLevel(logging.WARNING)
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
    say("\n".join(metric_lines(report)))
    if previous is not None:
        say("\n" + "\n".join(compare_lines(report["compare"], str(compare_to))))
    if gates:
        say("\n" + "\n".join(gate_lines(report)))
    say(f"\nwrote {', '.join(str(p) for p in paths)}")
    failed = [g for g in report.get("gates", []) if not g["passed"]]
    if failed:
        names = ", ".join(
            f"{g['metric']} {'<' if g['kind'] == 'min' else '>'} {g['threshold']:g}" for g in failed
        )
        raise GateFailedError(f"{len(failed)} gate(s) failed: {names}")
