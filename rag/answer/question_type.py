"""Expected answer types, checked the way classic QA systems do: a 'when' needs a date."""

from __future__ import annotations

import re
from typing import Literal

from rag.lexical import normalize

AnswerType = Literal["person", "date", "number", "location", "definition", "reason", "other"]

_PERSON_NOUNS = (
    r"officials?|leaders?|people|persons?|president|minister|envoy|negotiators?|diplomats?|"
    r"secretary|spokes\w+|man|woman|men|women|individuals?|figures?|politicians?|names?"
)
_MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE = re.compile(
    rf"\b(1[89]\d\d|20\d\d)s?\b|\b({_MONTHS})\b|\b(monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|yesterday|today|tonight|tomorrow|weekend)\b|\b(this|last|next|that|the same)"
    r" (week|month|year|morning|evening|day)\b|\b(days?|weeks?|months?|years?|hours?) (ago|earlier|"
    r"later|after|before)\b|\bin the (hours|days|weeks) (after|before|since)\b|\bsince \d",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|dozen|dozens|"
    r"half|single|double|twice|both"
)
_NUMBER = re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
_LOCATION = re.compile(
    r"\b(in|at|from|to|between|across|near|inside|outside|into|toward|towards|along) (the )?"
    r"[A-Z][\w’'-]+"
)
_PERSON_ROLE = re.compile(rf"\b({_PERSON_NOUNS}|government|administration)\b", re.IGNORECASE)
_PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z’'-]+|\b[A-Z]{2,}\b")


def answer_type(question: str) -> AnswerType:
    """What kind of thing the question asks for."""
    q = normalize(question).strip()
    if re.search(r"\bhow (many|much|long|old|often|far)\b|\bwhat (number|percentage|age)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\b(what|which) (year|date|day|month|time)\b", q):
        return "date"
    if re.search(r"\bwhere\b|\b(what|which) (country|city|capital|place|location)\b", q):
        return "location"
    if re.match(r"\s*(?i:who|what)(?:\s+(?i:is|was|are|were)|['’]s)\s+[A-Z]", question):
        # "Who is Steve Witkoff?" asks for a description of a named entity
        return "definition"
    if re.search(r"\bwho(m|se)?\b", q) or re.search(
        rf"\b(which|what) (\w+ ){{0,2}}({_PERSON_NOUNS})\b", q
    ):
        return "person"
    if re.search(r"\bwhy\b|\bwhat (caused|led|made|prompted)\b|\breasons?\b", q):
        return "reason"
    return "other"


def holds_answer_type(sentence: str, kind: AnswerType) -> bool:
    """Whether the sentence contains the kind of thing asked for."""
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "location":
        return bool(_LOCATION.search(sentence))
    if kind == "person":
        return bool(_PERSON_ROLE.search(sentence) or _PROPER.search(sentence))
    return True
