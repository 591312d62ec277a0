"""Answers, sources, refusals and errors as inert HTML: untrusted text is always escaped."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote

from rag.models import Answer, Citation
from rag.templating import template_environment

# Besides HTML's own specials, characters that Markdown, autolinks or LaTeX would give a meaning
# to: the chat renders messages as Markdown, and an entity is never Markdown syntax.
_SPECIAL = {c: f"&#{ord(c)};" for c in "&<>\"'[]()*_`#!|~$:{}\\"}
_MARKER = re.compile(r"\[(\d{1,3})\]")
_PALETTE = 6  # citation colours cycle through rag-c0 .. rag-c5
CONTEXT_CHARS = 220
# Over the passages a refusal lists: they are on the subject but don't answer the question.
RELATED_LABEL = "Closest passages (they don’t answer it)"
TEMPLATES = Path(__file__).parent / "templates"


def escape_text(text: str) -> str:
    """Text as HTML that displays literally, even inside Markdown; newlines become <br>."""
    escaped = "".join(_SPECIAL.get(c, c) for c in text)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def escape_plain(text: str) -> str:
    """Text as HTML for pages that are not Markdown (quotes escaped too, newlines kept)."""
    return html.escape(text, quote=True)


def escape_attribute(text: str) -> str:
    """Text for a double-quoted HTML attribute value (newlines kept as entities)."""
    return escape_text(text).replace("<br>", "&#10;")


def source_url(source: str, start: int | None = None, end: int | None = None) -> str:
    """The source viewer's deep link for a document (and a span to highlight)."""
    url = f"/source/{url_quote(source, safe='/')}"
    if start is not None and end is not None:
        url += f"?start={start}&end={end}#cite"
    return url


def quote_in_context(
    text: str, start: int, end: int, width: int = CONTEXT_CHARS
) -> tuple[str, str, str]:
    """(text before, the quote, text after), cut at word boundaries about `width` chars out."""
    before_start = max(0, start - width)
    if before_start > 0:
        space = text.find(" ", before_start, start)
        before_start = space + 1 if space != -1 else before_start
    after_end = min(len(text), end + width)
    if after_end < len(text):
        space = text.rfind(" ", end, after_end)
        after_end = space if space != -1 else after_end
    before = ("…" if before_start > 0 else "") + text[before_start:start]
    after = text[end:after_end] + ("…" if after_end < len(text) else "")
    return before, text[start:end], after


@functools.cache
def _messages() -> Any:
    environment = template_environment(TEMPLATES, escape_text, attribute=escape_attribute)
    return environment.get_template("messages.html").module


def _message(macro: str, *args: Any) -> str:
    """A macro of templates/messages.html; its values are escaped for HTML and Markdown."""
    render: Callable[..., str] = getattr(_messages(), macro)
    return render(*args)


def _chip(n: int, citation: Citation | None, base_url: str) -> str:
    label, colour = f"[{n}]", f"rag-cite rag-c{(n - 1) % _PALETTE}"
    if citation is None:
        return _message("chip", label, colour)
    where = f"{citation.title} — {citation.section}" if citation.section else citation.title
    href = base_url + source_url(citation.source, citation.start, citation.end)
    return _message("chip", label, colour, href, f"{where}: “{citation.quote}”")


def answer_text_html(text: str, citations: list[Citation], base_url: str = "") -> str:
    """The answer text with each [n] marker as a coloured chip linking to its source."""
    return _message("answer_text", _with_chips(text, citations, base_url))


def _with_chips(text: str, citations: list[Citation], base_url: str) -> list[str]:
    """`text` split into escaped-later text parts and chip HTML (Markup) parts."""
    by_number = {c.n: c for c in citations}
    parts: list[str] = []
    position = 0
    for match in _MARKER.finditer(text):
        n = int(match.group(1))
        if citations and n not in by_number:
            continue  # a literal "[n]" quoted from a document, not one of our markers
        parts += [text[position : match.start()], _chip(n, by_number.get(n), base_url)]
        position = match.end()
    parts.append(text[position:])
    return parts


def answer_blocks(text: str, citations: list[Citation]) -> list[tuple[str, list[str]]]:
    """The answer as paragraphs and lists: ("p", [text]) or ("ul", [item, ...]).

    A sentence ending in ":" introduces a list (the answerer adds a list's items after its
    introduction), so the cited sentences after it become its items, each keeping its [n].
    """
    known = {c.n for c in citations}
    sentences: list[str] = []
    position = 0
    for match in _MARKER.finditer(text):
        if int(match.group(1)) not in known:
            continue
        sentence = text[position : match.end()].strip()
        if sentences and _MARKER.fullmatch(sentence):  # "… [1] [2]": one sentence, two sources
            sentences[-1] += " " + sentence
        else:
            sentences.append(sentence)
        position = match.end()
    rest = text[position:].strip()
    if rest:
        sentences.append(rest)
    for index, sentence in enumerate(sentences[:-1]):
        if _MARKER.sub("", sentence).rstrip().endswith(":"):
            before = " ".join(sentences[: index + 1])
            return [("p", [before]), ("ul", sentences[index + 1 :])]
    return [("p", [" ".join(sentences)])] if sentences else []


def source_groups(
    citations: list[Citation], document_text: dict[str, str], base_url: str = ""
) -> list[dict[str, Any]]:
    """Citations grouped by document (in the order first cited), quotes in document order."""
    groups: dict[str, dict[str, Any]] = {}
    for c in citations:
        group = groups.setdefault(
            c.source,
            {
                "title": c.title or c.source,
                "source": c.source,
                "href": base_url + source_url(c.source),
                "quotes": [],
            },
        )
        text = document_text.get(c.source)
        before, quote, after = quote_in_context(text, c.start, c.end) if text else ("", c.quote, "")
        group["quotes"].append(
            {
                "n": c.n,
                "start": c.start,
                "chip": _chip(c.n, None, base_url),
                "section": c.section,
                "before": before,
                "quote": quote,
                "after": after,
                "href": base_url + source_url(c.source, c.start, c.end),
            }
        )
    for group in groups.values():
        group["quotes"].sort(key=lambda item: (item["start"], item["n"]))
    return list(groups.values())


def sources_html(
    citations: list[Citation],
    document_text: dict[str, str],
    base_url: str = "",
    label: str = "Sources",
) -> str:
    """One header per cited document, then its quotes (each collapsible into its context)."""
    return _message("sources", source_groups(citations, document_text, base_url), label)


def short_answer_text(answer: Answer, document_text: dict[str, str]) -> str:
    """The short answer, only when it is exactly its span of the document (as citations are)."""
    short = answer.short_answer
    return (
        short.text if short is not None and short.matches(document_text.get(short.source)) else ""
    )


def render_answer(
    answer: Answer, document_text: dict[str, str], base_url: str = "", share: bool = True
) -> str:
    """A finished answer (or refusal) as one chat message."""
    if answer.refused or not answer.citations:
        related = sources_html(answer.related, document_text, base_url, RELATED_LABEL)
        return render_refusal(answer.answer, related)
    short = short_answer_text(answer, document_text)
    text = answer.answer.strip()
    if short and answer.short_answer is not None:  # shown in bold: not again as the first line
        text = text.removeprefix(answer.short_answer.lead())
    blocks = [
        (kind, [_message("answer_text", _with_chips(part, answer.citations, base_url))
                for part in parts])
        for kind, parts in answer_blocks(text, answer.citations)
    ]  # fmt: skip
    sources = sources_html(answer.citations, document_text, base_url)
    share_href = f"{base_url}/a/{answer.id}" if share and answer.id else ""
    # answer.notice: e.g. the language model failed, so passages are shown instead
    return _message("answer", blocks, sources, answer.notice, short, share_href)


def render_partial(text: str) -> str:
    """An answer still streaming in: text so far, markers as (not yet linked) chips."""
    return _message("partial", answer_text_html(text, []))


def render_refusal(text: str, related_html: str = "") -> str:
    """The "not in the documents" answer, styled apart from real answers, with the passages
    nearest what was asked (`sources_html` of the answer's `related`) under it."""
    return _message("refusal", text.strip(), related_html)


def render_error(message: str) -> str:
    """A friendly error line (never a traceback)."""
    return _message("error", message)


def render_question(question: str) -> str:
    """The user's own message, displayed literally."""
    return _message("question", question)


def render_chat_header(document_count: int) -> str:
    """Title, what the chat does, and links to the embed page and API docs."""
    return _message("chat_header", document_count)
