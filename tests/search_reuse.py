"""An ingest that removes, changes and adds one article, watched: what its search files read."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rag.app import Pipeline
from rag.bench.corpus import write_corpus
from rag.generations import search_files
from rag.lexical import TermCollector
from tests.conftest import MakePipeline


@dataclass
class Reingest:
    pipeline: Pipeline
    listed: list[tuple[str, list[str]]]  # collections the search files read whole: name, include
    tokenised: int  # chunk texts the search files tokenised
    new_chunks: int  # chunks of the changed and the added article


def reingest_three_changes(
    make_pipeline: MakePipeline,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    before_second: Callable[[Pipeline], None] = lambda pipeline: None,
    **settings: Any,
) -> Reingest:
    """Ingest 30 articles; remove one, change one, add one; call `before_second`; ingest again,
    watching what the second ingest's search files read from Chroma and tokenise."""
    write_corpus(tmp_path / "corpus", 30)
    docs = tmp_path / "corpus" / "docs"
    pipeline = make_pipeline(docs=docs, **settings)
    pipeline.ingest()
    before_second(pipeline)
    names = sorted(p.name for p in docs.iterdir())
    (docs / names[0]).unlink()  # one removed
    changed = docs / names[1]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nA closing line.\n", "utf-8")
    shutil.copy(docs / names[2], docs / "a-new-copy-elsewhere.md")  # one added
    listed: list[tuple[str, list[str]]] = []
    real_get_all = search_files.get_all
    tokenised = 0

    def get_all(collection: Any, include: list[str]) -> dict[str, list[Any]]:
        listed.append((collection.name, include))
        return real_get_all(collection, include)

    class CountingCollector(TermCollector):
        def add_text(self, text: str) -> None:
            nonlocal tokenised
            tokenised += 1
            super().add_text(text)

    monkeypatch.setattr(search_files, "get_all", get_all)
    monkeypatch.setattr(search_files, "TermCollector", CountingCollector)
    summary = pipeline.ingest()
    assert (summary.added, summary.updated, summary.removed) == (1, 1, 1)
    monkeypatch.undo()
    documents = pipeline.store.require_snapshot().manifest["documents"]
    new_chunks = sum(documents[n]["chunks"] for n in (names[1], "a-new-copy-elsewhere.md"))
    return Reingest(pipeline, listed, tokenised, new_chunks)


def read_whole(reingest: Reingest, kind: str) -> list[list[str]]:
    """The includes of the whole reads of the collections of this kind (chunks, sentences)."""
    return [include for name, include in reingest.listed if name.endswith(kind)]


def assert_same_files(written: Path, fresh: Path) -> set[Path]:
    """Every file of `fresh` is in `written`, byte for byte; returns their names."""
    names = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    for name in sorted(names):
        assert (written / name).read_bytes() == (fresh / name).read_bytes(), name
    return names
