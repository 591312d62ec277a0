"""Find the title, section headings, bullets and non-content lines (photo credits) of a text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

BlockKind = Literal["title", "heading", "paragraph", "bullet", "credit"]

_CREDIT = re.compile(
    r"^(photo|image|picture|illustration|video)s?\s*(by|credit|courtesy|:)|^(credit|source)s?:",
    re.IGNORECASE,
)
BULLET = re.compile(r"^\s*(?:[-*•–]|\d{1,2}[.)])\s+")  # a list-item marker at a line start
_MD_HEADING = re.compile(r"^(#{1,6})\s+")
_SMALL_WORDS = {
    "a",
    "an",
    "and",
    "as",
    "at",
    "but",
    "by",
    "for",
    "from",
    "in",
    "into",
    "of",
    "on",
    "or",
    "the",
    "to",
    "vs",
    "with",
    "over",
    "after",
    "before",
    "about",
}


@dataclass(frozen=True)
class Block:
    """A span of the document text with its role."""

    kind: BlockKind
    start: int
    end: int


@dataclass(frozen=True)
class ParsedText:
    """A document's text (what citations point into), its title and its blocks."""

    text: str
    title: str
    blocks: list[Block]


def _is_title_word(word: str) -> bool:
    core = word.strip("[]()\"'“”‘’:,-—")
    return not core or core[0].isupper() or core[0].isdigit() or core.lower() in _SMALL_WORDS


def split_run_in_title(line: str) -> int:
    """Length of a headline that runs into the first sentence on the same line (0 if none).

    Scraped articles often lose the newline after the headline: "Talks Collapse in London
    [Updated] Diplomatic efforts in London ...". The headline is the longest run of title-case
    words; its last capitalised word already starts the body sentence.
    """
    words = list(re.finditer(r"\S+", line))
    run = 0
    while run < len(words) and _is_title_word(words[run].group()):
        run += 1
    if run == len(words) or run < 4:
        return 0
    cut = run - 1  # the capitalised word that opens the body sentence
    while cut > 0 and words[cut - 1].group().lower() in _SMALL_WORDS:
        cut -= 1
    return words[cut - 1].end() if cut >= 3 else 0


def looks_like_heading(line: str) -> bool:
    """A short line without closing punctuation, mostly in title case."""
    stripped = line.strip()
    words = stripped.split()
    if not words or len(words) > 14 or len(stripped) > 120 or BULLET.match(line):
        return False
    if stripped[-1] in '.!?,;:"”’)' or not (stripped[0].isupper() or stripped[0].isdigit()):
        return False
    capitalised = sum(1 for w in words if _is_title_word(w))
    return capitalised / len(words) >= 0.75 or len(words) <= 6


def parse_plain_text(text: str, fallback_title: str, markdown: bool = False) -> ParsedText:
    """Classify each line of a plain-text or Markdown document."""
    blocks: list[Block] = []
    title = ""
    offset = 0
    for line in text.splitlines(keepends=True):
        start, end = offset, offset + len(line.rstrip("\r\n"))
        offset += len(line)
        content = text[start:end]
        lead = len(content) - len(content.lstrip())
        if not content.strip():
            continue
        start += lead
        content = content.strip()
        end = start + len(content)
        heading = _MD_HEADING.match(content) if markdown else None
        if heading:
            kind: BlockKind = "heading"
            start += heading.end()
            if not title and len(heading.group(1)) == 1:
                title, kind = content[heading.end() :].strip(), "title"
        elif _CREDIT.match(content):
            kind = "credit"
        elif bullet := BULLET.match(content):
            kind = "bullet"
            start += bullet.end()
        elif not blocks and not title and looks_like_heading(content):
            title, kind = content, "title"
        elif not blocks and not title and (cut := split_run_in_title(content)):
            title = content[:cut]
            blocks.append(Block("title", start, start + cut))
            kind, start = "paragraph", start + cut
            while start < end and text[start].isspace():
                start += 1
        elif looks_like_heading(content) and not markdown:
            kind = "heading"
        else:
            kind = "paragraph"
        blocks.append(Block(kind, start, end))
    return ParsedText(text=text, title=title or fallback_title, blocks=blocks)
