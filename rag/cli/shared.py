"""What every `rag` command shares: the common options, error handling, settings and pipeline."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import click
import typer

from rag.errors import BadInputError, NoDocumentsError, RagError, SettingError
from rag.terminal import for_terminal, json_for_terminal

if TYPE_CHECKING:
    from pydantic import ValidationError

    from rag.app import Pipeline
    from rag.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

IndexDir = Annotated[Path | None, typer.Option("--index-dir", help="Index folder (RAG_INDEX_DIR).")]
DocsDir = Annotated[Path | None, typer.Option("--docs", help="Documents folder (RAG_DOCS_DIR).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
LlmOption = Annotated[
    str | None,
    typer.Option(
        "--llm", help="extractive (default), tiny-local, hf:<folder> or provider:model (RAG_LLM)."
    ),
]
TopK = Annotated[int | None, typer.Option("--k", min=1, max=50, help="Chunks to retrieve.")]


def say(text: str, err: bool = False) -> None:
    """Print a line: user-supplied text in it (questions, comments, quotes, file names) can hold
    escape sequences, so none reaches the terminal."""
    typer.echo(for_terminal(text), err=err)


def say_json(json_text: str) -> None:
    """Print JSON text, C1 characters escaped (json.dumps and pydantic leave them raw)."""
    typer.echo(json_for_terminal(json_text))


class TerminalFormatter(logging.Formatter):
    """Log lines as `say` prints them: messages and tracebacks can quote user-supplied text."""

    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(super().format(record))


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn every failure into one line on stderr and an exit code: 2 bad input, 1 otherwise."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (BadInputError, NoDocumentsError) as err:
            say(f"error: {err}", err=True)
            raise typer.Exit(2) from None
        except RagError as err:
            say(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, click.exceptions.ClickException):
            raise  # click's own exits and usage errors (Exit subclasses RuntimeError in click 8.5)
        except Exception as err:  # the edge: never show a traceback to a user
            logging.getLogger(__name__).debug("unexpected error", exc_info=True)
            say(f"error: unexpected {type(err).__name__}: {err}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def load_settings(
    index_dir: Path | None = None, docs: Path | None = None, **extra: Any
) -> Settings:
    """Settings from env/.env with CLI flags on top."""
    from pydantic import ValidationError

    from rag.settings import Settings

    try:
        settings = Settings()
    except ValidationError as err:
        raise SettingError(setting_problem(err)) from err
    updates = {"index_dir": index_dir, "docs_dir": docs, **extra}
    return settings.model_copy(update={k: v for k, v in updates.items() if v is not None})


def setting_problem(err: ValidationError) -> str:
    """The first invalid setting, by its variable's name, with what it was set to (not for
    secrets): "invalid setting RAG_TOP_K: Input should be a valid integer, …, got 'abc'"."""
    from rag.settings import Settings

    first = err.errors()[0]
    field = str(first["loc"][0]) if first.get("loc") else ""
    if not field:
        return f"invalid RAG_* setting: {first['msg']}"
    message = f"invalid setting RAG_{field.upper()}: {first['msg']}"
    known = Settings.model_fields.get(field)
    secret = known is None or "SecretStr" in str(known.annotation)
    shown = repr(first.get("input"))
    if secret or shown in message:
        return message
    return f"{message}, got {shown if len(shown) <= 60 else shown[:57] + '…'}"


def pipeline_for(settings: Settings) -> Pipeline:
    """The pipeline `settings` describe (loads the embedding model)."""
    from rag.app import build_pipeline

    return build_pipeline(settings)
