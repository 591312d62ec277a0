"""A deterministic synthetic news corpus with paraphrased questions, for benchmarks at scale.

No real news corpus ships offline, so `write_corpus` makes one: articles on a dozen beats, each
with two facts among background sentences that repeat across articles of the same beat (the
distractors), and a question per fact worded differently from it. Every choice comes
from a sha256 of the article number: the same corpus on every machine, no random generator.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

CITIES = [
    "Brenford",
    "Calder Bay",
    "Ostrava Nova",
    "Millhaven",
    "Port Aurel",
    "Kestrel Falls",
    "Dunmore",
    "Valleyview",
    "Sarnath",
    "Eastwick",
    "Lowmoor",
    "Tarrin",
    "Grellport",
    "Ashby Cross",
    "Norvik",
    "Halden Ridge",
    "Quarrytown",
    "Westmere",
    "Cobalt Springs",
    "Marisol",
]
FIRST = [
    "Anna",
    "Tomasz",
    "Leila",
    "Marcus",
    "Ingrid",
    "Kofi",
    "Priya",
    "Diego",
    "Hana",
    "Oskar",
    "Fatima",
    "Lucas",
    "Mei",
    "Emeka",
    "Sofia",
    "Rahul",
    "Elena",
    "Jonas",
    "Amara",
    "Pavel",
]
LAST = [
    "Varga",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Castellano",
    "Novak",
    "Haddad",
    "Brennan",
    "Takahashi",
    "Oyelaran",
    "Kowalczyk",
    "Duarte",
    "Richter",
    "Mensah",
    "Albescu",
    "Ferreira",
    "Sandoval",
    "Whitlock",
    "Nakamura",
    "Petrov",
]
ORGS = [
    "Velto Motors",
    "Northline Rail",
    "Azura Labs",
    "Kestrel Energy",
    "Brightwater Foods",
    "Orion Pharma",
    "Halcyon Air",
    "Meridian Steel",
    "Tessera Systems",
    "Greenfield Mills",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "September",
    "October",
    "November",
]

# (title, fact sentence, question) per beat; slots are filled from the lists above.
BEATS = [
    (
        "{city} council passes budget",
        "The {city} city council approved a budget of {n} million euros for road repairs on {day}.",
        "How much money will {city} spend on fixing its streets?",
    ),
    (
        "Cracks close {city} bridge",
        "Engineers said the old river bridge in {city} will stay closed until {month} after cracks "
        "were found in its supports.",
        "Until when will the damaged crossing in {city} be shut?",
    ),
    (
        "New mayor for {city}",
        "{person} won the mayoral race in {city} with {n} percent of the vote.",
        "Who was elected to lead {city} town hall?",
    ),
    (
        "{org} to cut jobs",
        "{org} will cut {n} jobs at its plant in {city}, blaming weak demand for scooters.",
        "How many workers is {org} laying off in {city}?",
    ),
    (
        "Floods hit {city}",
        "Heavy rain flooded {n} homes in {city} overnight; firefighters evacuated two care homes.",
        "How many houses were inundated in {city}?",
    ),
    (
        "{city} United win derby",
        "{city} United beat their rivals 3-1 on {day}, with {person} scoring twice late on.",
        "Which player netted two goals for {city} United?",
    ),
    (
        "New cancer ward in {city}",
        "The {city} hospital opened a new cancer ward with {n} beds, paid for by a donation.",
        "How many beds does the new oncology unit in {city} have?",
    ),
    (
        "Fraud sentence in {city}",
        "A court in {city} sentenced {person} to {small} years in prison for pension fraud.",
        "How long will {person} spend behind bars?",
    ),
    (
        "Frog species found near {city}",
        "Researchers at {org} found a new species of tree frog in the forests near {city}.",
        "What animal did the {org} scientists discover near {city}?",
    ),
    (
        "{org} raises fares",
        "{org}, the rail operator serving {city}, will raise ticket prices by {small} percent "
        "from {month}.",
        "By how much are train fares around {city} going up?",
    ),
    (
        "{city} museum returns bronzes",
        "The {city} museum handed {n} bronze sculptures back to Benin on {day}.",
        "What did the museum in {city} give back?",
    ),
    (
        "{org} recalls laptops",
        "{org} recalled {n} laptops sold in {city} because their batteries could overheat.",
        "Why did {org} pull computers from shops in {city}?",
    ),
]
# A second fact per beat, with its question: two questions per article.
DETAILS = [
    (
        "Mayor {person} said the money would also pay for {small} new cycle lanes.",
        "How many bike paths will the {city} spending plan fund?",
    ),
    (
        "Drivers face a detour of about {small} kilometres while the repairs go on.",
        "How far out of their way must motorists in {city} drive because of the bridge works?",
    ),
    (
        "Turnout reached {n2} percent, the highest since the city's founding.",
        "What share of voters cast a ballot in the {city} election?",
    ),
    (
        "Production of the {model} scooter will move to a factory abroad.",
        "Which product line is {org} moving overseas?",
    ),
    (
        "The storm brought down power lines, leaving {n2} households without electricity.",
        "How many homes in {city} lost power in the storm?",
    ),
    (
        "The coach, {person2}, called it the best performance of the season.",
        "Who trains the {city} United side?",
    ),
    (
        "The ward's chief doctor, {person2}, said waiting times should fall by half.",
        "Who runs the new cancer ward in {city}?",
    ),
    (
        "Prosecutors said about {n2} pensioners lost their savings in the scheme.",
        "How many retirees were cheated in the {city} pension case?",
    ),
    (
        "The frog is bright green and about {small} centimetres long.",
        "How big is the frog found near {city}?",
    ),
    (
        "Season tickets for commuters will be exempt from the increase until {month2}.",
        "Until when are commuter passes spared the {city} fare rise?",
    ),
    (
        "The sculptures were taken from the royal palace in 1897 by British soldiers.",
        "When were the bronzes returned by {city} originally looted?",
    ),
    (
        "Customers can exchange affected machines at {n2} service points.",
        "Where can owners in {city} swap their faulty {org} laptops?",
    ),
]
MODELS = ["Zephyr", "Comet", "Piccolo", "Strada", "Nimbus", "Vela", "Arrow", "Lumen"]
BACKGROUND = [
    "Officials in {city} declined to comment further.",
    "The decision follows months of debate among residents.",
    "Opposition politicians called the move rushed and poorly explained.",
    "Local businesses said they were still assessing the impact.",
    "A spokesperson for {org} said more details would follow next week.",
    "Critics argued that the plan ignores the needs of smaller towns.",
    "{person}, a resident, said people had waited a long time for news.",
    "The regional government is expected to review the matter in {month}.",
    "Similar measures were taken in neighbouring districts last year.",
    "Unions said they would meet on {day} to discuss their response.",
    "Analysts expect further announcements before the end of the year.",
    "The figures were published in a report released on {day}.",
    "Residents have been invited to a public meeting at the town hall on {day}.",
    "The last comparable event in {city} took place more than a decade ago.",
    "{person}, who chairs a local business group, welcomed the clarity.",
    "Campaigners handed in a petition with several thousand signatures.",
    "Television footage showed long queues outside the main offices.",
    "The national press picked up the story within hours.",
    "Insurance companies said it was too early to estimate the cost.",
    "Schools in the area will open as usual on {day}.",
    "Questions remain about who will pay for the work in the long run.",
    "A full inquiry has been promised for {month}.",
    "Neighbouring {city} is watching the situation closely.",
    "Police said there had been no arrests.",
]


def _pick(items: list[str], *key: object) -> str:
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return items[int.from_bytes(digest[:8], "big") % len(items)]


def _number(low: int, high: int, *key: object) -> int:
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


def _slots(i: int) -> dict[str, object]:
    return {
        "city": CITIES[(i // len(BEATS)) % len(CITIES)],  # unique per beat up to 240 articles
        "person": f"{_pick(FIRST, i, 'first')} {_pick(LAST, i, 'last')}",
        "org": _pick(ORGS, i, "org"),
        "day": _pick(DAYS, i, "day"),
        "month": _pick(MONTHS, i, "month"),
        "n": _number(12, 480, i, "n"),
        "small": _number(2, 19, i, "small"),
        "n2": _number(21, 97, i, "n2"),
        "person2": f"{_pick(FIRST, i, 'first2')} {_pick(LAST, i, 'last2')}",
        "month2": _pick(MONTHS, i, "month2"),
        "model": _pick(MODELS, i, "model"),
    }


def article(i: int) -> tuple[str, str, list[tuple[str, str]]]:
    """(file name, text, [(fact sentence, question), ...]) of article number `i`."""
    title, fact, question = BEATS[i % len(BEATS)]
    detail, detail_question = DETAILS[i % len(DETAILS)]
    slots = _slots(i)
    order = sorted(range(len(BACKGROUND)), key=lambda b: _number(0, 10**6, i, "order", b))
    sentences = [BACKGROUND[b].format(**_slots(i * 31 + b)) for b in order[:14]]
    facts = [
        (fact.format(**slots), question.format(**slots)),
        (detail.format(**slots), detail_question.format(**slots)),
    ]
    sentences.insert(_number(0, 2, i, "position"), facts[0][0])
    sentences.insert(_number(5, 12, i, "position2"), facts[1][0])
    paragraphs = [" ".join(sentences[s : s + 3]) for s in range(0, len(sentences), 3)]
    text = f"{title.format(**slots)}\n\n" + "\n\n".join(paragraphs) + "\n"
    return f"news-{i:04d}.txt", text, facts


def write_corpus(folder: Path, articles: int) -> Path:
    """Write `articles` news files into `folder` and their questions into questions.jsonl."""
    docs = folder / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(articles):
        name, text, facts = article(i)
        (docs / name).write_text(text, encoding="utf-8")
        for number, (fact, question) in enumerate(facts):
            rows.append(
                {
                    "id": f"synthetic-{i:04d}-{number}",
                    "question": question,
                    "reference_contexts": [fact],
                    "reference_sources": [name],
                }
            )
    questions = folder / "questions.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return questions


def add_one_article(docs: Path) -> None:
    """Write one more article into `docs` (a one-document change: 9000 and up, never in use)."""
    number = 9000 + sum(1 for _ in docs.glob("bench-swap-*"))
    _, text, _ = article(number)
    (docs / f"bench-swap-{number}.txt").write_text(text, encoding="utf-8")
