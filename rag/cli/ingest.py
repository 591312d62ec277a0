"""`rag ingest`: bring the documents folder's documents in line with it, add the given files,
or remove documents added from elsewhere by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.shared import (
    DocsDir,
    IndexDir,
    JsonFlag,
    friendly_errors,
    load_settings,
    pipeline_for,
    say,
    say_json,
)
from rag.errors import BadInputError


@friendly_errors
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[PATH]...",
            help="Files or folders to add or update (default: the documents folder).",
        ),
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Rebuild the index from scratch.")] = False,
    remove: Annotated[
        list[str] | None,
        typer.Option(
            "--remove",
            metavar="NAME",
            help="Remove this document, added by PATH from outside the documents folder "
            "(repeatable; names as in citations).",
        ),
    ] = None,
    json_output: JsonFlag = False,
    index_dir: IndexDir = None,
    docs: DocsDir = None,
) -> None:
    """Index documents (.txt, .md, .html, .pdf); unchanged files are skipped."""
    if remove and (paths or reset):
        raise BadInputError("--remove takes document names and runs alone, without PATH or --reset")
    pipeline = pipeline_for(load_settings(index_dir, docs))
    from rag.ingest.pipeline import IngestProgress

    def progress(step: IngestProgress) -> None:
        say(step.note or f"indexing [{step.done + 1}/{step.total}] {step.source}", err=True)

    if remove:
        summary = pipeline.remove(remove)
    else:
        summary = pipeline.ingest(
            list(paths) if paths else None, reset=reset, progress=None if json_output else progress
        )
    if json_output:
        say_json(json.dumps(summary.as_dict(), ensure_ascii=False))
        return
    for skipped in summary.skipped:
        say(f"warning: skipped {skipped['path']}: {skipped['reason']}", err=True)
    say(
        f"{summary.added} added, {summary.updated} updated, {summary.removed} removed, "
        f"{summary.unchanged} unchanged; {summary.chunks} chunks in the index"
    )
