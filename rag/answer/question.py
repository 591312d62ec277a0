"""The question as the chain takes it in: checked, cleaned, and what the conversation said last."""

from __future__ import annotations

import re
from typing import Any

from rag.errors import BadInputError

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Markup pasted into a question (an <img> from a web page) is not part of what is asked.
_SURROGATE = re.compile("[\ud800-\udfff]")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,500}>")


def clean_question(question: Any, max_chars: int) -> str:
    """Validate a user question: text, not blank, not too long; control characters and tags go."""
    if not isinstance(question, str):
        raise BadInputError("the question must be text")
    require_unicode(question, "the question")
    question = " ".join(_TAG.sub(" ", _CONTROL.sub(" ", question)).split())
    if not question:
        raise BadInputError("the question is empty: type a question about the documents")
    if len(question) > max_chars:
        raise BadInputError(
            f"the question is too long ({len(question):,} characters; the limit is {max_chars:,})"
        )
    return question


def require_unicode(text: str, what: str) -> None:
    """Refuse a lone surrogate (JSON's "\\ud800", undecodable argv): no encoder takes it."""
    if _SURROGATE.search(text):
        raise BadInputError(
            f"{what} is not valid Unicode text (it holds a lone surrogate, U+D800–U+DFFF)"
        )


def last_answer(history: list[dict[str, str]]) -> str:
    """The assistant's most recent reply in the conversation, or ""."""
    return next((m["content"] for m in reversed(history) if m["role"] == "assistant"), "")
