"""Question sets: JSONL or CSV, RAGAS field names accepted; errors name file, line and field."""

from __future__ import annotations

import csv
import difflib
import json
import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rag.errors import BadInputError

from .question import ALIASES, FIELDS, Question

log = logging.getLogger(__name__)

# Fields a RAGAS export carries that describe a previous run, not the question: ignored quietly.
RUN_FIELDS = {"response", "retrieved_contexts", "multi_responses", "rubric", "rubrics"}
JSON_LIST_FIELDS = {"reference_contexts", "reference_sources", "history", "must_include"}


class QuestionSetError(BadInputError):
    """A question file that cannot be used; the message names file, line and field."""


def load_questions(path: Path) -> list[Question]:
    """Read a .jsonl or .csv question set; raise QuestionSetError on the first problem."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".jsonl", ".csv"}:
        raise QuestionSetError(f"{path}: unsupported question file type (use .jsonl or .csv)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise QuestionSetError(f"cannot read question file {path}: {err}") from err
    rows = _jsonl_rows(path, text) if suffix == ".jsonl" else _csv_rows(path, text)
    questions: list[Question] = []
    seen: dict[str, int] = {}
    unknown: set[str] = set()
    for line, raw in rows:
        question = parse_question(raw, path, line, unknown)
        if question.id in seen:
            raise _error(
                path,
                line,
                "id",
                f"duplicate id {question.id!r} (first on line {seen[question.id]})",
            )
        seen[question.id] = line
        questions.append(question)
    if not questions:
        raise QuestionSetError(f"{path}: no questions found")
    waiting = [q.id for q in questions if q.needs_reference]
    if waiting:
        log.warning(
            "%s: %d question(s) need a reference (needs_reference: true): %s. They are asked and "
            "their answers reported, but count only toward citation_validity and latency; write "
            "their reference, must_include or answerable: false and remove needs_reference",
            path,
            len(waiting),
            ", ".join(waiting[:5]) + (", …" if len(waiting) > 5 else ""),
        )
    return questions


def _error(path: Path, line: int, name: str, problem: str) -> QuestionSetError:
    return QuestionSetError(f"{path}, line {line}, field '{name}': {problem}")


def _jsonl_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for line, content in enumerate(text.splitlines(), 1):
        if not content.strip():
            continue
        try:
            value = json.loads(content)
        except json.JSONDecodeError as err:
            raise QuestionSetError(
                f"{path}, line {line}: not valid JSON ({err.msg}, column {err.colno})"
            ) from err
        except RecursionError as err:
            raise QuestionSetError(f"{path}, line {line}: JSON nested too deeply") from err
        if not isinstance(value, dict):
            raise QuestionSetError(
                f"{path}, line {line}: expected a JSON object, got {type(value).__name__}"
            )
        rows.append((line, value))
    return rows


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    """Rows with their first line number; empty cells count as absent."""
    reader = csv.DictReader(text.splitlines(keepends=True))
    rows = []
    next_line = 2  # line 1 is the header
    while True:
        try:
            record = next(reader, None)
        except csv.Error as err:  # a cell over csv's field size limit, …
            raise QuestionSetError(f"{path}, line {next_line}: not valid CSV ({err})") from err
        if record is None:
            break
        start, next_line = next_line, reader.line_num + 1
        if None in record:
            raise QuestionSetError(f"{path}, line {start}: more cells than header columns")
        values = {k.strip(): v for k, v in record.items() if k and v is not None and v.strip()}
        if values:
            rows.append((start, {k: _csv_cell(path, start, k, v) for k, v in values.items()}))
    return rows


def _csv_cell(path: Path, line: int, name: str, value: str) -> Any:
    """A cell holding a JSON list is decoded; other cells stay text (simple list syntaxes below)."""
    text = value.strip()
    canonical = ALIASES.get(name, name)
    if text.startswith("[") and canonical in JSON_LIST_FIELDS:
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise _error(path, line, name, f"not a valid JSON list ({err.msg})") from err
        except RecursionError as err:
            raise _error(path, line, name, "a JSON list nested too deeply") from err
    if canonical == "must_include":  # "Rubio; reject|refused" = [["Rubio"], ["reject", "refused"]]
        return [
            [alt.strip() for alt in group.split("|") if alt.strip()] for group in text.split(";")
        ]
    if canonical == "reference_sources":
        return [name.strip() for name in text.split(";") if name.strip()]
    if canonical == "history":
        raise _error(path, line, name, 'must be a JSON list of {"role", "content"} messages')
    return value


def parse_question(
    raw: dict[str, Any], path: Path, line: int, unknown: set[str] | None = None
) -> Question:
    """Validate one raw record (JSON object or CSV row) into a Question."""
    seen: dict[str, Any] = {}
    for name, value in raw.items():
        canonical = ALIASES.get(name, name)
        if canonical in FIELDS:
            if canonical in seen and seen[canonical] != value:
                raise _error(path, line, name, f"conflicts with '{canonical}' on the same line")
            seen[canonical] = value
        elif name not in RUN_FIELDS and (unknown is None or name not in unknown):
            if unknown is not None:
                unknown.add(name)
            guess = difflib.get_close_matches(name, [*FIELDS, *ALIASES], n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            log.warning("%s, line %s: ignoring unknown field '%s'%s", path, line, name, hint)
    try:
        return Question.model_validate(
            {"id": f"line-{line}", **raw, "origin": f"{path}, line {line}"}
        )
    except ValidationError as err:
        first = err.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "needs_reference"  # the model check
        raise _error(path, line, field, first["msg"]) from err
