"""A replica holds the search files and what questions fetched, never the whole generation."""

from __future__ import annotations

import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.bench.corpus import write_corpus
from rag.generations import search_files
from rag.generations.chroma import close_client, persistent_client, raw_collection
from rag.generations.search_files import SEARCH
from rag.lexical import LexicalIndex, tokenize
from rag.snapshot import Snapshot
from tests.conftest import MakePipeline


def test_saved_bm25_index_scores_like_one_built_from_the_texts(tmp_path: Path) -> None:
    texts = ["Russia's talks in London", "The harbour reopened on Friday", "", "London, again"]
    built = LexicalIndex(texts)
    built.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert isinstance(loaded.bm25.scores["data"], np.memmap)  # mapped, not read into memory
    for query in ("London talks", "harbour Friday", "nothing here"):
        assert np.array_equal(built.scores(tokenize(query)), loaded.scores(tokenize(query)))
    doc_freq = Counter(term for text in texts for term in set(tokenize(text)))
    for term in ("london", "harbour", "absent"):
        df = doc_freq.get(term, 0)
        assert loaded.idf(term) == math.log(1 + (len(texts) - df + 0.5) / (df + 0.5))
    LexicalIndex([]).save(tmp_path / "empty")
    assert LexicalIndex.load(tmp_path / "empty").scores(["london"]).shape == (0,)


def cached_chunks(snapshot: Snapshot) -> int:
    return len(snapshot._chunks)


def test_a_question_fetches_only_its_chunks(make_pipeline: MakePipeline, tmp_path: Path) -> None:
    write_corpus(tmp_path / "corpus", 40)
    pipeline = make_pipeline(docs=tmp_path / "corpus" / "docs")
    pipeline.ingest()
    snapshot = pipeline.store.require_snapshot()
    assert snapshot.size > 40 and cached_chunks(snapshot) == 0  # opening reads no chunk
    # Embedded: sentence vectors come from the search files (reading the sentence collection
    # would load its whole vector index into this process).
    assert snapshot.search.sentence_vectors is not None
    answer = pipeline.chain.invoke({"question": "Who is Steve Witkoff?"})
    fetched = cached_chunks(snapshot)
    assert 0 < fetched <= 2 * pipeline.retriever.k < snapshot.size
    assert {c.chunk_id for c in answer.retrieved} <= set(snapshot._chunks)
    pipeline.chain.invoke({"question": "Who is Steve Witkoff?"})  # the same chunks: cached
    assert cached_chunks(snapshot) == fetched


def test_a_generation_without_search_files_gets_them_once(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    pipeline.ingest()
    generation = pipeline.store.current_generation()
    assert (generation / SEARCH / "bm25").is_dir()
    shutil.rmtree(generation / SEARCH)  # as an index written before they existed
    reader = make_pipeline()
    answer = reader.chain.invoke({"question": "Who is Steve Witkoff?"})
    assert not answer.refused and "Witkoff" in answer.answer
    assert (generation / SEARCH / "bm25").is_dir()


def test_an_ingest_reuses_the_sentences_of_unchanged_chunks(
    make_pipeline: MakePipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only new chunks' sentences are read from Chroma, and the files are the same as if all
    had been: byte for byte, against files written from scratch over the same collections."""
    write_corpus(tmp_path / "corpus", 30)
    docs = tmp_path / "corpus" / "docs"
    pipeline = make_pipeline(docs=docs)
    pipeline.ingest()
    names = sorted(p.name for p in docs.iterdir())
    (docs / names[0]).unlink()  # one removed
    changed = docs / names[1]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nA closing line.\n", "utf-8")
    shutil.copy(docs / names[2], docs / "a-new-copy-elsewhere.md")  # one added
    listed: list[str] = []
    real_get_all = search_files.get_all

    def get_all(collection: Any, include: list[str]) -> dict[str, list[Any]]:
        listed.append(collection.name)
        return real_get_all(collection, include)

    monkeypatch.setattr(search_files, "get_all", get_all)
    summary = pipeline.ingest()
    assert (summary.added, summary.updated, summary.removed) == (1, 1, 1)
    assert not any(name.endswith("_sentences") for name in listed), listed
    monkeypatch.undo()

    generation = pipeline.store.current_generation()
    snapshot = pipeline.store.require_snapshot()
    client = persistent_client(generation / "chroma")
    try:
        fresh = tmp_path / "fresh"
        search_files.write_search_files(
            raw_collection(client, snapshot.chunk_rows.name),
            raw_collection(client, snapshot.sentence_rows.name),
            fresh,
        )
    finally:
        close_client(client)
    written = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert Path("sentence_vectors.npy") in written
    for name in written:
        assert (generation / SEARCH / name).read_bytes() == (fresh / name).read_bytes(), name
