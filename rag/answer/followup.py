"""Follow-up questions borrow the conversation's context, but only when they need it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rag.answer.question import require_unicode
from rag.errors import BadInputError

_ANAPHORA = re.compile(
    r"\b(he|him|his|she|her|hers|they|them|their|theirs|it|its|this|that|these|those|there|then|"
    r"the same|such|former|latter)\b",
    re.IGNORECASE,
)
_ELLIPSIS = re.compile(
    r"^\s*(and|but|also|what about|how about|why|why not|more|tell me more)\b", re.IGNORECASE
)


ROLES = ("user", "assistant")


def normalize_history(
    history: Any, max_turns: int = 20, max_chars: int = 4000
) -> list[dict[str, str]]:
    """Accept OpenAI-style messages or (user, assistant) pairs; return checked messages.

    Only 'user' and 'assistant' turns: a 'system' turn from a client must not steer the answer.
    """
    if not history:
        return []
    if not isinstance(history, Sequence) or isinstance(history, str):
        raise BadInputError("history must be a list of {'role', 'content'} messages")
    messages: list[dict[str, str]] = []
    for turn in history:
        if isinstance(turn, dict) and "content" in turn:
            role = str(turn.get("role", "user"))
            content = turn["content"]
            if not isinstance(content, str):
                content = str(content) if content is not None else ""
            messages.append({"role": role, "content": content})
        elif isinstance(turn, (list, tuple)) and len(turn) == 2:
            messages += [
                {"role": "user", "content": str(turn[0] or "")},
                {"role": "assistant", "content": str(turn[1] or "")},
            ]
        else:
            raise BadInputError("each history turn must be {'role': ..., 'content': ...}")
        if len(messages) > max_turns:
            raise BadInputError(
                f"the history is too long: at most {max_turns:,} earlier messages are accepted"
            )
    for n, message in enumerate(messages):
        if message["role"] not in ROLES:
            raise BadInputError(
                f"history turn {n + 1} has role {message['role'][:40]!a}: only 'user' and "
                "'assistant' are accepted"
            )
        if len(message["content"]) > max_chars:
            raise BadInputError(
                f"history turn {n + 1} is too long ({len(message['content']):,} characters; "
                f"the limit is {max_chars:,})"
            )
        require_unicode(message["content"], f"history turn {n + 1}")
    return messages


def needs_context(question: str) -> bool:
    """True when the question points back at the conversation ("What was he lining up?")."""
    return bool(_ANAPHORA.search(question) or _ELLIPSIS.match(question))


def contextual_query(question: str, history: list[dict[str, str]]) -> tuple[str, str]:
    """(query used for retrieval, context text borrowed from history, "" if none)."""
    if not history or not needs_context(question):
        return question, ""
    previous = [m["content"] for m in history if m["role"] == "user" and m["content"].strip()]
    if not previous:
        return question, ""
    context = previous[-1].strip()[:1000]
    return f"{context} {question}", context
