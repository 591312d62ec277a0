"""Rated chat answers as an evaluation set: 👎 to write references for, 👍 as regression checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.feedback import StoredAnswer
from rag.terminal import json_for_terminal

from .dataset import parse_question


def feedback_question(stored: StoredAnswer) -> dict[str, Any]:
    """One question record of the eval format for a rated answer.

    👎: `needs_reference: true` (someone writes what the right answer is). 👍 on an answer: the
    answer must again contain the short answer (or else the first cited quote), from the same
    documents; 👍 on a refusal: the question must again be refused.
    """
    record: dict[str, Any] = {"id": f"feedback-{stored.id}", "question": stored.question}
    if stored.history:
        record["history"] = stored.history
    if stored.rating == "up" and stored.refused:
        record["answerable"] = False
    elif stored.rating == "up" and stored.citations:
        fact = stored.short_answer.text if stored.short_answer else stored.citations[0].quote
        record["must_include"] = [[fact]]
        record["reference_sources"] = sorted({c.source for c in stored.citations})
    else:
        record["needs_reference"] = True
    record["feedback"] = {
        "rating": stored.rating,
        "comment": stored.comment,
        "answer": stored.answer,
        "answer_id": stored.id,
        "rated": stored.rated,
        "generation": stored.generation,
    }
    return record


def write_question_set(rated: list[StoredAnswer], out: Path) -> tuple[int, int]:
    """Write the rated answers to `out` (.jsonl); (regression questions, questions to complete)."""
    records = [feedback_question(stored) for stored in rated]
    for line, record in enumerate(records, 1):
        parse_question(record, out, line)  # what we write must load in `rag eval`
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "".join(json_for_terminal(json.dumps(r, ensure_ascii=False)) + "\n" for r in records),
        encoding="utf-8",
    )
    waiting = sum(bool(r.get("needs_reference")) for r in records)
    return len(records) - waiting, waiting
