"""Question sets: JSONL or CSV, RAGAS field names accepted; errors name file, line and field."""

from __future__ import annotations

import csv
import difflib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import BadInputError

log = logging.getLogger(__name__)

FIELDS = (
    "id",
    "question",
    "reference",
    "reference_contexts",
    "reference_sources",
    "answerable",
    "history",
    "must_include",
)
ALIASES = {"user_input": "question", "ground_truth": "reference"}
# Fields a RAGAS export carries that describe a previous run, not the question: ignored quietly.
RUN_FIELDS = {"response", "retrieved_contexts", "multi_responses", "rubric", "rubrics"}
ROLES = {"user", "assistant", "system"}
TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0"}


class QuestionSetError(BadInputError):
    """A question file that cannot be used; the message names file, line and field."""


@dataclass
class Question:
    """One question of a set, with what a right answer looks like."""

    id: str
    question: str
    reference: str | None = None
    reference_contexts: list[str] = field(default_factory=list)
    reference_sources: list[str] = field(default_factory=list)
    answerable: bool = True
    history: list[dict[str, str]] = field(default_factory=list)
    must_include: list[list[str]] = field(default_factory=list)
    origin: str = ""  # "file, line n": where to point a person when this question is wrong

    def expected(self) -> dict[str, Any]:
        """What the question file says a right answer contains."""
        return {
            "reference": self.reference,
            "must_include": self.must_include,
            "reference_contexts": self.reference_contexts,
            "reference_sources": self.reference_sources,
        }


def load_questions(path: Path) -> list[Question]:
    """Read a .jsonl or .csv question set; raise QuestionSetError on the first problem."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".jsonl", ".csv"}:
        raise QuestionSetError(f"{path}: unsupported question file type (use .jsonl or .csv)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise QuestionSetError(f"cannot read question file {path}: {err}") from None
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
            ) from None
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
    for record in reader:
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
    if text.startswith("[") and canonical in {
        "reference_contexts",
        "reference_sources",
        "history",
        "must_include",
    }:
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise _error(path, line, name, f"not a valid JSON list ({err.msg})") from None
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
    values: dict[str, Any] = {}
    for name, value in raw.items():
        canonical = ALIASES.get(name, name)
        if canonical in FIELDS:
            if canonical in values and values[canonical] != value:
                raise _error(path, line, name, f"conflicts with '{canonical}' on the same line")
            values[canonical] = value
        elif name not in RUN_FIELDS and (unknown is None or name not in unknown):
            if unknown is not None:
                unknown.add(name)
            guess = difflib.get_close_matches(name, [*FIELDS, *ALIASES], n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            log.warning("%s, line %s: ignoring unknown field '%s'%s", path, line, name, hint)

    def err(name: str, problem: str) -> QuestionSetError:
        return _error(path, line, name, problem)

    question = values.get("question")
    if not isinstance(question, str) or not question.strip():
        raise err("question", "missing or empty (also accepted as 'user_input')")
    qid = values.get("id", f"line-{line}")
    if isinstance(qid, bool) or not isinstance(qid, (str, int)) or not str(qid).strip():
        raise err("id", "must be a non-empty string or number")
    reference = values.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise err("reference", "must be a string")
    answerable = _boolean(values.get("answerable", True), err)
    must_include = _groups(values.get("must_include", []), err)
    if must_include and not answerable:
        raise err("must_include", "an unanswerable question cannot require facts in its answer")
    return Question(
        id=str(qid).strip(),
        question=question,
        reference=(reference.strip() or None) if isinstance(reference, str) else None,
        reference_contexts=_strings(
            values.get("reference_contexts", []), "reference_contexts", err
        ),
        reference_sources=_strings(values.get("reference_sources", []), "reference_sources", err),
        answerable=answerable,
        history=_history(values.get("history", []), err),
        must_include=must_include,
        origin=f"{path}, line {line}",
    )


def _boolean(value: Any, err: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise err("answerable", f"must be true or false, got {value!r}")


def _strings(value: Any, name: str, err: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise err(name, "must be a list of non-empty strings")
    return list(value)


def _groups(value: Any, err: Any) -> list[list[str]]:
    """must_include: a list of groups of alternatives; a bare string is a group of one."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise err("must_include", "must be a list of groups, each a list of alternative strings")
    groups = []
    for number, group in enumerate(value, 1):
        alternatives = [group] if isinstance(group, str) else group
        if (
            not isinstance(alternatives, list)
            or not alternatives
            or not all(isinstance(a, str) and a.strip() for a in alternatives)
        ):
            raise err(
                "must_include", f"group {number} must be a non-empty list of non-empty strings"
            )
        groups.append([a.strip() for a in alternatives])
    return groups


def _history(value: Any, err: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise err("history", 'must be a list of {"role", "content"} messages')
    messages = []
    for number, turn in enumerate(value, 1):
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ROLES
            or not isinstance(turn.get("content"), str)
        ):
            raise err(
                "history",
                f'message {number} must be {{"role": user|assistant|system, "content": text}}',
            )
        messages.append({"role": turn["role"], "content": turn["content"]})
    return messages
