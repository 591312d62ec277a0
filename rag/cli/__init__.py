"""The `rag` command, the composition root: each command wires the core to ui/ or eval/ lazily.

One module per command (`ingest`, `ask` with `chat`, `serve`, `evaluate`, `bench`, `feedback`);
`shared` holds the common options, the error handler and the settings/pipeline helpers.
"""

from __future__ import annotations

import logging
import sys

import typer

from rag.cli.ask import ask, chat
from rag.cli.bench import bench
from rag.cli.evaluate import evaluate
from rag.cli.feedback import feedback_app
from rag.cli.ingest import ingest
from rag.cli.serve import serve
from rag.cli.shared import TerminalFormatter, friendly_errors, load_settings, pipeline_for

__all__ = ["app", "friendly_errors", "load_settings", "main", "pipeline_for"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Ask questions about your documents, offline, with cited answers.",
)
# Registration order is the order `rag --help` lists them in.
app.command()(ingest)
app.command()(ask)
app.command()(chat)
app.command()(serve)
app.command("eval")(evaluate)
app.command()(bench)
app.add_typer(feedback_app, name="feedback")


def main() -> None:
    """Console entry point."""
    from rag.embeddings import force_offline

    force_offline()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TerminalFormatter("%(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.ERROR, handlers=[handler])
    app()
