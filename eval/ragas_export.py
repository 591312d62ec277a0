"""The run in RAGAS's field names (SingleTurnSample), for an LLM-judged second opinion."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def ragas_rows(
    per_question: Sequence[dict[str, Any]], text_of: Callable[[str], str]
) -> list[dict[str, Any]]:
    """One RAGAS sample per question: user_input, retrieved_contexts, response, reference, ...

    `id`, `answerable` and `history` ride along; RAGAS ignores fields it doesn't know.
    """
    rows = []
    for record in per_question:
        row: dict[str, Any] = {
            "id": record["id"],
            "user_input": record["question"],
            "retrieved_contexts": [
                text_of(chunk["source"])[chunk["start"] : chunk["end"]]
                for chunk in record["retrieved"]
            ],
            "response": record["answer"],
        }
        expected = record["expected"]
        if expected["reference_contexts"]:
            row["reference_contexts"] = expected["reference_contexts"]
        if expected["reference"]:
            row["reference"] = expected["reference"]
        row["answerable"] = record["answerable"]
        if record["history"]:
            row["history"] = record["history"]
        rows.append(row)
    return rows
