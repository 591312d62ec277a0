"""Cut a reproducible slice of a news question set small enough to index in CI.

`python -m rag.evaluation.slice --questions Q.jsonl --docs DOCS --out DIR` keeps the answerable
questions first in sha256(id) order while their answer-bearing articles fit the budget, then the
withheld questions with the articles most related to them (BM25 over the whole folder, so the slice
keeps the same-event coverage that makes them hard), then fills the folder with other articles of
the set, also in sha256 order, as distractors. Same input, same slice, on every machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from rag.lexical import LexicalIndex, tokenize


def _order(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def cut_slice(
    questions: list[dict[str, Any]],
    docs: Path,
    articles: int = 250,
    answerable_share: float = 0.7,
    withheld: int = 20,
    related: int = 2,
) -> tuple[list[dict[str, Any]], list[str]]:
    """(questions kept, article file names kept)."""
    chosen: list[str] = []
    kept: list[dict[str, Any]] = []
    for question in sorted(
        (q for q in questions if q["answerable"]), key=lambda q: _order(q["id"])
    ):
        sources = [s for s in question["reference_sources"] if s not in chosen]
        if len(chosen) + len(sources) > articles * answerable_share:
            continue
        chosen += sources
        kept.append(question)
    names = sorted(p.name for p in docs.glob("*.md"))
    index = LexicalIndex([(docs / n).read_text(encoding="utf-8") for n in names])
    refused = sorted((q for q in questions if not q["answerable"]), key=lambda q: _order(q["id"]))
    for question in refused[:withheld]:
        scores = index.scores(tokenize(question["question"]))
        best = [names[i] for i in scores.argsort()[::-1][:related]]
        chosen += [n for n in best if n not in chosen]
        kept.append(question)
    for name in sorted(names, key=_order):
        if len(chosen) >= articles:
            break
        if name not in chosen:
            chosen.append(name)
    return kept, sorted(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--articles", type=int, default=250)
    args = parser.parse_args()
    questions = [
        json.loads(line)
        for line in args.questions.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    kept, names = cut_slice(questions, args.docs, args.articles)
    if args.out.exists():
        shutil.rmtree(args.out)
    (args.out / "docs").mkdir(parents=True)
    for name in names:
        shutil.copyfile(args.docs / name, args.out / "docs" / name)
    lines = [json.dumps(q, ensure_ascii=False) for q in kept]
    (args.out / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    answerable = sum(q["answerable"] for q in kept)
    print(f"{len(names)} articles, {answerable} answerable + {len(kept) - answerable} withheld")


if __name__ == "__main__":
    main()
