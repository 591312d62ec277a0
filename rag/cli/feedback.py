"""`rag feedback list|export`: what chat users rated; rated answers as an eval question set."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli.shared import IndexDir, JsonFlag, friendly_errors, load_settings, say, say_json
from rag.errors import BadInputError

if TYPE_CHECKING:
    from rag.feedback import StoredAnswer

feedback_app = typer.Typer(
    no_args_is_help=True,
    help="Feedback given in the chat and the widget (👍/👎 with comments).",
)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="The answers database (RAG_FEEDBACK_DB; default: in the index)."),
]


class RatingChoice(StrEnum):
    """A value of --rating."""

    up = "up"
    down = "down"


RatingOption = Annotated[
    RatingChoice | None, typer.Option("--rating", help="Only 'up' (👍) or only 'down' (👎).")
]


def _rated(
    index_dir: Path | None, db: Path | None, rating: RatingChoice | None
) -> list[StoredAnswer]:
    from rag.feedback import open_answer_log

    settings = load_settings(index_dir, feedback_db=db)
    answer_log = open_answer_log(settings)
    if not answer_log.path.is_file():
        raise BadInputError(
            f"no answers database at {answer_log.path}: it is made by `rag serve` "
            "(or set RAG_FEEDBACK_DB / --db)"
        )
    try:
        if rating is None:
            return answer_log.rated()
        return answer_log.rated("up" if rating is RatingChoice.up else "down")
    finally:
        answer_log.close()


@feedback_app.command("list")
@friendly_errors
def list_feedback(
    rating: RatingOption = None,
    as_json: JsonFlag = False,
    index_dir: IndexDir = None,
    db: DbOption = None,
) -> None:
    """Rated answers, oldest first: time, rating, question, comment (--json: with citations)."""
    rated = _rated(index_dir, db, rating)
    for stored in rated:
        if as_json:
            record = {
                "id": stored.id,
                "rated": stored.rated,
                "rating": stored.rating,
                "comment": stored.comment,
                "question": stored.question,
                "answer": stored.answer,
                "refused": stored.refused,
                # what /api/ask gave with the answer, in its shapes
                "citations": [c.model_dump(mode="json") for c in stored.citations],
                "short_answer": (
                    stored.short_answer.model_dump(mode="json") if stored.short_answer else None
                ),
                "related": [c.model_dump(mode="json") for c in stored.related],
            }
            say_json(json.dumps(record, ensure_ascii=False))
            continue
        mark = "👍" if stored.rating == "up" else "👎"
        comment = f"  “{stored.comment}”" if stored.comment else ""
        say(f"{stored.rated}  {mark}  {stored.question}{comment}  [{stored.id}]")
    if not as_json:
        say(f"{len(rated)} rated answer(s)", err=True)


@feedback_app.command("export")
@friendly_errors
def export_feedback(
    out: Annotated[Path, typer.Option("--out", help="The question set to write (.jsonl).")],
    rating: RatingOption = None,
    index_dir: IndexDir = None,
    db: DbOption = None,
) -> None:
    """Write rated answers as a `rag eval` question set (👎: needs_reference; 👍: regression)."""
    from rag.evaluation.from_feedback import write_question_set

    if out.suffix.lower() != ".jsonl":
        raise BadInputError(f"--out must be a .jsonl file, not {out}")
    rated = _rated(index_dir, db, rating)
    if not rated:
        raise BadInputError("no rated answers yet: nothing to export")
    regression, waiting = write_question_set(rated, out)
    say(
        f"wrote {regression + waiting} question(s) to {out}: {regression} regression check(s) "
        f"from 👍, {waiting} to write references for (needs_reference) from 👎"
    )
