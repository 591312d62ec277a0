"""`rag ingest`: mirror the documents folder in the index, or add the given files."""

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


@friendly_errors
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[PATH]...", help="Files or folders to add or update (default: mirror docs)."
        ),
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Rebuild the index from scratch.")] = False,
    json_output: JsonFlag = False,
    index_dir: IndexDir = None,
    docs: DocsDir = None,
) -> None:
    """Index documents (.txt, .md, .html, .pdf); unchanged files are skipped."""
    pipeline = pipeline_for(load_settings(index_dir, docs))
    from rag.ingest.pipeline import IngestProgress

    def progress(step: IngestProgress) -> None:
        say(f"indexing [{step.done + 1}/{step.total}] {step.source}", err=True)

    if not json_output and not reset and pipeline.store.search_files_outdated():
        say("writing the index's search files in this release's version (once)", err=True)
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
