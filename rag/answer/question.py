"""The question as the chain takes it in: checked, cleaned, and what the conversation said last."""

from __future__ import annotations

import re
from typing import Any

from rag.errors import BadInputError

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Markup pasted into a question (an <img> from a web page) is not part of what is asked.
_SURROGATE = re.compile("[\ud800-\udfff]")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,500}>")
# A script or style element's text is code, never what is asked: it goes with its tags.
_RAW_TEXT_TAG = re.compile(r"<\s*(/?)\s*(script|style)\b[^<>]{0,500}>", re.IGNORECASE)


def clean_question(question: Any, max_chars: int) -> str:
    """Validate a user question: text, not blank, not too long; control characters and tags go."""
    if not isinstance(question, str):
        raise BadInputError("the question must be text")
    require_unicode(question, "the question")
    question = " ".join(_TAG.sub(" ", drop_raw_text_elements(_CONTROL.sub(" ", question))).split())
    if not question:
        raise BadInputError("the question is empty: type a question about the documents")
    if len(question) > max_chars:
        raise BadInputError(
            f"the question is too long ({len(question):,} characters; the limit is {max_chars:,})"
        )
    return question


def drop_raw_text_elements(text: str) -> str:
    """`text` without its <script> and <style> elements, contents included.

    One pass over the tags (never a rescan of the rest of the text per opening tag); an element
    that is never closed loses only its tag, so the text after it stays.
    """
    kept: list[str] = []
    position = 0
    opened: re.Match[str] | None = None
    for tag in _RAW_TEXT_TAG.finditer(text):
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if opened is None and not closing:
            opened = tag
        elif opened is not None and closing and name == opened.group(2).lower():
            kept += [text[position : opened.start()], " "]
            position, opened = tag.end(), None
    kept.append(text[position:])
    return "".join(kept)


def require_unicode(text: str, what: str) -> None:
    """Refuse a lone surrogate (JSON's "\\ud800", undecodable argv): no encoder takes it."""
    if _SURROGATE.search(text):
        raise BadInputError(
            f"{what} is not valid Unicode text (it holds a lone surrogate, U+D800–U+DFFF)"
        )


def last_answer(history: list[dict[str, str]]) -> str:
    """The assistant's most recent reply in the conversation, or ""."""
    return next((m["content"] for m in reversed(history) if m["role"] == "assistant"), "")
