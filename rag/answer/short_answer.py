"""A direct short answer: the asked-for name, number or date, verbatim from the cited sentence."""

from __future__ import annotations

import re
from collections.abc import Iterator

from rag.answer.question_type import AnswerType
from rag.lexical import tokenize, words_of
from rag.models import ShortAnswer

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
)
_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DATE_SPAN = re.compile(
    rf"\b{_MONTH}(?:\s+\d{{1,2}})?(?:,?\s+\d{{4}})?|\b{_DAY}\b|\b(?:1[89]|20)\d\d\b(?!\s*%)"
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|dozen|dozens|hundreds|thousands|millions"
)
_NUMBER_SPAN = re.compile(
    rf"(?:[$£€]\s?)?\b(?:\d[\d,.]*|(?i:{_NUMBER_WORDS})\b)"
    rf"(?:[\s-](?:(?i:{_NUMBER_WORDS})\b|percent|%))*"
    r"(?:%|(?:[\s-](?!(?:of|the|a|an|and|in|on|at|to|for|from|by|with)\b)[a-z]+))?"
)
_CONNECTOR = r"(?:of|de|du|da|del|van|von|al|bin|the|for|and)"
_NAME_SPAN = re.compile(
    rf"\b[A-Z][\w’'&.-]*[\w’']?(?:(?:\s+{_CONNECTOR})*\s+[A-Z][\w’'&.-]*[\w’']?)*"
)
_FUNCTION_WORDS = frozenset(
    "the a an in on at but and or as after before when while this that these those it its his "
    "her their there here for from by with to of if so last next former".split()
)
# A dateline opens a wire story: "GARDINER, Mont. —", "SAN FRANCISCO —", "(CNN)".
_CNN_DATELINE = re.compile(r"^[^()\n]{0,40}?\(CNN\)\s*")
_DASH_DATELINE = re.compile(r"^([^—–\n]{2,40}?)\s[—–]\s")
_WHEN_WORD = re.compile(rf"(?i:{_DAY}|{_MONTH}|today|tonight|yesterday|tomorrow)\b")
_WORD = re.compile(r"[\w’'-]+")
# A people's or a country's adjective ("Russian", "Chinese", "British"): it describes the name
# asked for, it is not one. Listed, since their endings are also names' (Julian, Vatican).
_DEMONYMS = frozenset(
    """Afghan African American Arab Argentine Argentinian Asian Australian Austrian Belgian
    Brazilian British Bulgarian Canadian Chilean Chinese Colombian Croatian Cuban Czech Danish
    Dutch Egyptian English Ethiopian European Filipino Finnish French Georgian German Greek
    Haitian Hungarian Indian Indonesian Iranian Iraqi Irish Israeli Italian Japanese Jordanian
    Kenyan Korean Kurdish Latin Lebanese Libyan Mexican Moroccan Nigerian Norwegian Pakistani
    Palestinian Peruvian Polish Portuguese Romanian Russian Saudi Scottish Serbian Somali Spanish
    Sudanese Swedish Swiss Syrian Taiwanese Thai Turkish Ukrainian Venezuelan Vietnamese Welsh
    Yemeni""".split()
)
_POSSESSIVE = re.compile(r"(.+?)[’']s")
# Capitalised words of a question after its first word: the names it already gives.
_QUESTION_NAME = re.compile(r"(?<=\s)[A-Z][\w’'-]*")
_ENTITY_FOCUS = re.compile(r"\bwhich\b|\bwhat (?!is|are|was|were|do|did|does|has|have|had)\w+\b")


def short_answer_kind(kind: AnswerType, question: str) -> str | None:
    """'person', 'name', 'number' or 'date' when the question asks for one; None for other
    questions."""
    if kind == "person":
        return "person"
    if kind == "location":
        return "name"
    if kind in ("number", "date"):
        return kind
    if kind == "other" and _ENTITY_FOCUS.search(question.lower()):
        return "name"
    return None


def _names(sentence: str) -> Iterator[tuple[int, int]]:
    for match in _NAME_SPAN.finditer(sentence):
        start, end = match.start(), match.end()
        words = sentence[start:end].split()
        while words and words[0].lower().strip(".,") in _FUNCTION_WORDS:
            start = sentence.index(words[1], start + len(words[0])) if len(words) > 1 else end
            words = words[1:]
        while words and words[-1].lower() in _FUNCTION_WORDS | {"of", "de"}:
            end = start + len(" ".join(words[:-1])) if len(words) > 1 else start
            words = words[:-1]
        text = sentence[start:end].rstrip(".’'")
        if re.fullmatch(_NUMBER_WORDS, text, re.IGNORECASE):
            continue  # "Two turkeys arrived": a count, not a name
        if " " not in text and (text.isupper() or sentence[end : end + 1] == ","):
            continue  # a dateline ("LONDON") or an opening adverb ("Meanwhile,")
        if text:
            yield start, start + len(text)


def dateline_end(sentence: str) -> int:
    """Where the dateline opening a wire story ends ("GARDINER, Mont. — ", "(CNN) "); 0 if none.
    A dash after an ordinary opening ("Ford — the automaker —") is not one: a dateline has a
    place in capitals or a "City, State" pair."""
    cnn = _CNN_DATELINE.match(sentence)
    if cnn:
        return cnn.end()
    dash = _DASH_DATELINE.match(sentence)
    if dash and (re.search(r"\b[A-Z]{3,}\b", dash.group(1)) or "," in dash.group(1)):
        return dash.end()
    return 0


def find_span(sentence: str, kind: str, question: str) -> tuple[int, int] | None:
    """Character span in `sentence` of the first asked-for thing the question doesn't mention."""
    asked = set(tokenize(question))
    if kind == "date":
        spans = [(m.start(), m.end()) for m in _DATE_SPAN.finditer(sentence)]
    elif kind == "number":
        spans = [(m.start(), m.end()) for m in _NUMBER_SPAN.finditer(sentence)]
        spans = [
            (s, e)
            for s, e in spans
            if not _DATE_SPAN.fullmatch(sentence[s:e].strip().rstrip(".,;:"))
        ]
    else:
        spans = list(_names(sentence))
    opening = dateline_end(sentence)
    given = set(words_of(" ".join(_QUESTION_NAME.findall(question))))
    found = []
    for start, end in spans:
        text = sentence[start:end].rstrip().rstrip(".,;:")
        if kind in ("person", "name") and " " not in text:
            owner = _POSSESSIVE.fullmatch(text)
            text = owner.group(1) if owner else text  # "Russia’s proposal": Russia
            if text in _DEMONYMS:
                continue
        terms = set(tokenize(text))
        if not terms or terms <= asked or start < opening:
            continue
        if kind in ("person", "name") and given.intersection(words_of(text.split()[-1])[-1:]):
            continue  # "Marco Rubio" for a question about Rubio: the asked-about, not the answer
            # (its last word: a title the question shares, "President X", is not the name)
        if kind != "date" and any(_WHEN_WORD.fullmatch(w) for w in _WORD.findall(text)):
            continue  # "Tuesday", "Beginning Tuesday": when, not what
        found.append((start, start + len(text)))
    # A lone capitalised word opening the sentence may just be capitalised ("Diplomatic
    # efforts ..."): prefer a later span when there is one.
    later = [(s, e) for s, e in found if s > opening or " " in sentence[s:e]]
    chosen = later or found
    if kind == "person":
        # A person has a full name ("Marco Rubio"); a lone word is more often a place or a
        # group ("as fighting in Ukraine hit a wall as US officials, Marco Rubio ...").
        chosen = [(s, e) for s, e in chosen if " " in sentence[s:e]] or chosen
    return chosen[0] if chosen else None


def short_answer(
    kind: AnswerType, question: str, source: str, document_text: str, start: int, end: int
) -> ShortAnswer | None:
    """The short answer inside document_text[start:end], or None when none is found."""
    wanted = short_answer_kind(kind, question)
    if wanted is None:
        return None
    span = find_span(document_text[start:end], wanted, question)
    if span is None:
        return None
    first, last = start + span[0], start + span[1]
    return ShortAnswer(text=document_text[first:last], source=source, start=first, end=last)
