"""Expected answer types, checked the way classic QA systems do: a 'when' needs a date."""

from __future__ import annotations

import re
from typing import Literal

from rag.lexical import normalize, tokenize

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
    r"half|single|double|twice"
)
_NUMBER = re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
_LOCATION = re.compile(
    r"\b(in|at|from|to|between|across|near|inside|outside|into|toward|towards|along|within|"
    r"throughout|over) (the )?"
    r"[A-Z][\w’'-]+"
)
_TITLES = (
    r"President|Secretary|Minister|Chancellor|Senator|Governor|Mayor|King|Queen|Prince|Pope|"
    r"General|Gen\.|Mr\.|Mrs\.|Ms\.|Dr\.|envoy|spokesman|spokeswoman|spokesperson|"
    r"Councillor|Councilor|Councilman|Councilwoman|Councilmember|Alderman|Representative|Rep\.|"
    r"Sen\.|Congressman|Congresswoman|Judge|Justice|Commissioner|Sheriff|Ambassador|Professor|"
    r"Prof\.|Lord|Lady|Sir|Dame|Coach|Captain|Capt\.|Chairman|Chairwoman|Bishop|Rabbi|Imam|"
    r"Detective|Inspector|Sergeant|Sgt\.|Lt\.|Col\.|Admiral|Superintendent"
)
# A name: capitalised words, possibly joined by particles ("Secretary of State Marco Rubio").
_NAME_SPAN = re.compile(r"[A-Z][\w’'-]+(?:\s+(?:(?:of|de|van|von|al|bin)\s+)?[A-Z][\w’'-]+)*")
_TITLED = re.compile(rf"\b({_TITLES})\s+[A-Z]")
_ROLE_GROUP = re.compile(
    r"\b(officials|leaders|negotiators|diplomats|ministers|lawmakers|government|administration)\b",
    re.IGNORECASE,
)


_VERBS = r"is|are|was|were|do|did|does"
_TRIGGERS: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "number",
        re.compile(r"\bhow (many|much|long|old|often|far)\b|\bwhat (number|percentage|age)\b"),
    ),
    ("date", re.compile(r"\bwhen\b|\b(what|which) (\w+ )?(year|date|day|month|time)\b")),
    (
        "location",
        re.compile(r"\bwhere\b|\b(what|which|in which) (country|city|capital|place|location)"),
    ),
    (
        "person",
        re.compile(
            rf"\bwho(m|se)?\b|\b(which|what) ((?!is|are|was|were|do|did|does)\w+ ){{0,2}}"
            rf"({_PERSON_NOUNS})\b"
        ),
    ),
    ("reason", re.compile(r"\bwhy\b|\bwhat (caused|led|made|prompted)\b|\breasons?\b")),
]


_CAUSE = re.compile(
    r"\b(because|due to|owing to|caused by|as a result|result(ed|s)? (of|from)|follow(ed|ing)|"
    r"citing|cited|in response to|amid|reasons?|led to|prompted|blamed|so that|in order to|"
    r"forced|after (?:\w+ ){0,3}(rejected|refused|rejection|refusal))\b",
    re.IGNORECASE,
)


# "Following the US exit, the summit was downgraded": an opening "Following/After X," gives what
# came before the sentence's own event, so it explains that event (the downgrade), not X.
_OPENING_SEQUENCE = re.compile(
    r"^\s*(?:[A-Z][\w ]{0,30}:\s*)?(?:following|after)\b[^,]{0,120},", re.I
)


def states_a_cause(sentence: str) -> bool:
    """Whether the sentence gives a cause or a motive ("Their withdrawal followed ...")."""
    return bool(_CAUSE.search(_OPENING_SEQUENCE.sub("", sentence, count=1)))


_DEFINITION = re.compile(
    r"(?i:who|what)(?:\s+(?i:is|was|are|were)|['’]s)(\s+(?i:the))?(\s+[A-Z][\w'’.-]*)+\s*\??"
)


def answer_type(question: str) -> AnswerType:
    """What kind of thing the question asks for, decided by its first question phrase."""
    if re.fullmatch(_DEFINITION, question.strip()):
        return "definition"  # "Who is Steve Witkoff?" asks to describe a named entity
    q = normalize(question)
    found = [(m.start(), kind) for kind, pattern in _TRIGGERS if (m := pattern.search(q))]
    return min(found)[1] if found else "other"


def holds_answer_type(sentence: str, kind: AnswerType, question: str = "") -> bool:
    """Whether the sentence contains the kind of thing asked for."""
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "location":
        return bool(_LOCATION.search(sentence))
    if kind == "person":
        return names_someone_new(sentence, question)
    return True


def names_someone_new(sentence: str, question: str) -> bool:
    """A person (or group of people) in the sentence that the question doesn't already name."""
    asked = set(tokenize(question))
    for match in _NAME_SPAN.finditer(sentence):
        if set(tokenize(match.group())) & asked:
            continue  # "Who replaced Rubio?" is not answered by a sentence about Rubio
        words = match.group().split()
        at_start = not sentence[: match.start()].strip()
        titled = bool(_TITLED.search(sentence, max(0, match.start() - 30), match.end()))
        if (len(words) >= 2 and not at_start) or titled:
            return True
        if len(words) == 1 and not at_start and not words[0].isupper():
            return True  # a bare surname mid-sentence ("Rubio and Witkoff were crucial")
    return any(not set(tokenize(m.group())) & asked for m in _ROLE_GROUP.finditer(sentence))
