"""People named in news text, told from places, parties and companies by how the text uses them.

A "First Last" pair counts as a person when the article treats it as one: the pair or its surname
alone stands next to a person cue ("X said", "according to X", "Sen. X", "analyst X", "X's wife",
"X, who", "X, 45,"), the surname stands alone somewhere, and nothing says otherwise: neither word
is a title or a word the archive writes in lower case more often than capitalised mid-sentence
("Stadium", "Winter"), the pair is not always inside a longer name ("Martin Luther King",
"Virginia Democratic Party") or after an article ("the Ford Edsel").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rag.ingest.sentences import ABBREVIATIONS
from rag.lexical import STOPWORDS

# One capitalised name word: "Holloway", "McClellan", "O'Brien", "Jean-Pierre".
_NAME_WORD = re.compile(r"(?:[A-Z]['’])?[A-Z][a-z]*[A-Z]?[a-z]+(?:-[A-Z][a-z]+)?")
_TOKEN = re.compile(r"\n|[A-Za-z][A-Za-z'’-]*|\d+|[^\w\s]")
_POSSESSIVE_ENDINGS = ("'s", "’s", "s'", "s’")
# After these a capital letter starts a sentence, so it says nothing about the word.
_SENTENCE_BREAKS = frozenset('\n . ! ? : ; “ " ( [ — – - # * • |'.split(" ")) | {"\n"}
_ARTICLES = frozenset({"the", "a", "an"})
_SUFFIXES = frozenset({"Jr", "Sr", "II", "III", "IV"})
_SPEECH = frozenset(
    (
        "said says say told tells added adds asked asks wrote writes explained explains noted "
        "notes recalled recalls testified testifies tweeted argued argues insisted insists "
        "admitted acknowledged replied replies continued warned warns thinks believes"
    ).split()
)
# Between a name and its speech verb: "Holloway also said", "Walkley has said".
_SPEECH_ADVERBS = frozenset(
    "also later then has had once previously reportedly recently repeatedly often".split()
)
# Titles, roles and relations: "Sen. X", "analyst X", "X's wife", "X, an attorney".
_PERSON_WORDS = frozenset(
    (
        "president vice sen senator rep representative gov governor mayor dr mr mrs ms miss "
        "judge justice coach ceo cfo coo secretary minister chancellor rev reverend prince "
        "princess queen king pope gen general lt col capt sgt officer detective sheriff deputy "
        "trooper speaker leader chief chairman chairwoman chair director commissioner "
        "ambassador envoy attorney lawyer prosecutor spokesman spokeswoman spokesperson founder "
        "cofounder co-founder executive professor prof author actor actress singer rapper "
        "musician artist designer chef star player quarterback pitcher striker goalkeeper "
        "manager analyst economist reporter journalist columnist editor anchor host producer "
        "engineer scientist researcher doctor nurse teacher student candidate lawmaker "
        "congressman congresswoman councilman councilwoman councilmember legislator agent "
        "owner boss son daughter wife husband mother father brother sister widow widower "
        "girlfriend boyfriend fiance fiancee grandson granddaughter grandmother grandfather "
        "aunt uncle cousin nephew niece parents children family friend colleague partner"
    ).split()
)
# Abbreviations whose full stop does not end a sentence ("Sen. Joe Morrissey"): the sentence
# splitter's, and "Rev." ("the Rev. Martin Luther King Jr.").
_ABBREVIATIONS = ABBREVIATIONS | {"rev"}


@dataclass
class Vocabulary:
    """How an archive writes its words: how often each is written, and how often at the start
    of a sentence (where a capital says nothing)."""

    written: Counter[str] = field(default_factory=Counter)
    sentence_starts: Counter[str] = field(default_factory=Counter)

    def add(self, tokens: list[str]) -> None:
        self.written.update(tokens)
        self.sentence_starts.update(
            tokens[i] for i in range(len(tokens)) if i == 0 or _breaks_before(tokens, i)
        )

    @classmethod
    def of(cls, texts: Iterable[list[str]]) -> Vocabulary:
        """The vocabulary of these tokenised texts."""
        vocabulary = cls()
        for tokens in texts:
            vocabulary.add(tokens)
        return vocabulary

    def common_word(self, word: str) -> bool:
        """A word, not a name: a stopword, or written in lower case at least as often as
        capitalised mid-sentence ("Stadium", "Winter", "Every")."""
        lower = word.lower()
        if lower in STOPWORDS:
            return True
        forms = [word + ending for ending in ("", "'s", "’s")]
        capitalised = sum(self.written[w] - self.sentence_starts[w] for w in forms)
        return 0 < self.written[lower] >= capitalised


def tokenize(text: str) -> list[str]:
    """Words (with their possessive endings), numbers, punctuation and line breaks."""
    return _TOKEN.findall(text)


def _possessive(token: str) -> bool:
    return token[-1:] in "s'’" and token.endswith(_POSSESSIVE_ENDINGS)


def _base(token: str) -> str:
    """The word without its possessive ending ("Holloway's", "Phillips'")."""
    if not _possessive(token):
        return token
    return token[:-2] if token[-1] in "sS" else token[:-1]


def _starts_sentence(tokens: list[str], i: int) -> bool:
    return i == 0 or _breaks_before(tokens, i)


def _breaks_before(tokens: list[str], i: int) -> bool:
    """A sentence ends or a quote opens just before token i (i > 0)."""
    before = tokens[i - 1]
    if before not in _SENTENCE_BREAKS:
        return False
    if before == "." and i >= 2:
        # "Sen. Joe", "U.S. Rep." : an abbreviation's or an initial's full stop
        word = tokens[i - 2]
        return not (word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()))
    return True


def _word_before(tokens: list[str], i: int) -> str:
    """The word before token i, skipping an abbreviation's full stop."""
    if i >= 2 and tokens[i - 1] == ".":
        return tokens[i - 2] if not _starts_sentence(tokens, i) else ""
    return tokens[i - 1] if i >= 1 else ""


def _titled(tokens: list[str], i: int) -> bool:
    """A title or role comes just before token i ("Sen.", "analyst", "Secretary of State")."""
    before = _word_before(tokens, i)
    if before.lower() in _PERSON_WORDS:
        return True
    # "Secretary of State Marco Rubio", "Chief of Staff Ron Klain"
    k, passed_of = i - 1, False
    while k >= 0 and (tokens[k] in {"of", "the"} or _NAME_WORD.fullmatch(tokens[k])):
        passed_of = passed_of or tokens[k] == "of"
        if passed_of and tokens[k].lower() in _PERSON_WORDS:
            return True
        k -= 1
    return False


def _person_cue(tokens: list[str], start: int, end: int) -> bool:
    """Tokens[start:end] (a name) stand where people stand in news text."""
    before = tokens[start - 1] if start >= 1 else ""
    if _titled(tokens, start) or before in _SPEECH:  # "Sen. X", "said X"
        return True
    if tokens[max(0, start - 2) : start] == ["according", "to"]:
        return True
    after = tokens[end : end + 4]
    if after[:1] and after[0] in _SUFFIXES:  # "Roy Brown Jr., 96,"
        after = tokens[end + 2 : end + 6] if after[1:2] == ["."] else tokens[end + 1 : end + 5]
    if _possessive(tokens[end - 1]) and after[:1] and after[0] in _PERSON_WORDS:
        return True  # "Phillips' daughter"
    if after[:1] and after[0] in _SPEECH:
        return True
    if len(after) >= 2 and after[0] in _SPEECH_ADVERBS and after[1] in _SPEECH:
        return True
    if after[:1] == [","] and len(after) >= 2:
        if after[1] == "who" or (after[1].isdigit() and after[2:3] == [","]):
            return True  # "X, who ...", "X, 45, ..."
        if after[1] in _ARTICLES and any(w in _PERSON_WORDS for w in after[2:4]):
            return True  # "X, an attorney"
    return False


def _inside_longer_name(tokens: list[str], start: int, end: int) -> bool:
    """Tokens[start:end] are part of a longer capitalised name ("Martin Luther King",
    "Virginia Democratic Party") or come after an article ("the Ford Edsel")."""
    before = tokens[start - 1] if start >= 1 else ""
    if before in _ARTICLES:
        return True
    if before[:1].isupper() and not _starts_sentence(tokens, start) and not _titled(tokens, start):
        return True
    after = tokens[end] if end < len(tokens) else ""
    return bool(_NAME_WORD.fullmatch(_base(after))) and after not in _SUFFIXES


def people_named(
    text: str | list[str], limit: int = 2, vocabulary: Vocabulary | None = None
) -> list[str]:
    """Likely people: "First Last" pairs the text treats as people, most mentioned first.

    `text`: a text or its `tokenize`d tokens; `vocabulary`: how the archive writes its words
    (default: this text's own)."""
    tokens = tokenize(text) if isinstance(text, str) else text
    vocabulary = vocabulary or Vocabulary.of([tokens])
    mentions: Counter[str] = Counter()
    cues: Counter[str] = Counter()
    positions: dict[str, list[int]] = {}  # where each capitalised word stands
    for k, token in enumerate(tokens):
        if token[:1].isupper():
            positions.setdefault(_base(token), []).append(k)
    for i in range(len(tokens) - 1):
        if not (tokens[i][:1].isupper() and tokens[i + 1][:1].isupper()):
            continue
        first, last = tokens[i], _base(tokens[i + 1])
        if not (_NAME_WORD.fullmatch(first) and _NAME_WORD.fullmatch(last)):
            continue
        if _inside_longer_name(tokens, i, i + 2):
            continue
        name = f"{first} {last}"
        mentions[name] += 1
        cues[name] += _person_cue(tokens, i, i + 2)
    people = []
    for name, _count in mentions.most_common():
        first, last = name.split(" ")
        if any(w.lower() in _PERSON_WORDS or vocabulary.common_word(w) for w in (first, last)):
            continue  # "Mayor Tomas", "Stadium Australia"
        # The surname alone, as news style refers to people after naming them once.
        alone = [k for k in positions[last] if not _inside_longer_name(tokens, k, k + 1)]
        if alone and (cues[name] or any(_person_cue(tokens, k, k + 1) for k in alone)):
            people.append(name)
        if len(people) == limit:
            break
    return people
