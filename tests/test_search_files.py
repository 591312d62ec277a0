"""A replica holds the search files and what questions fetched, never the whole generation."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rag.app import Pipeline
from rag.bench.corpus import write_corpus
from rag.generations import search_files
from rag.generations.chroma import close_client, persistent_client, raw_collection
from rag.generations.search_files import SEARCH
from rag.ingest.pipeline import SEARCH_FILES_NOTE, IngestProgress
from rag.lexical import LexicalIndex, tokenize
from rag.snapshot import Snapshot
from tests.conftest import MakePipeline
from tests.search_reuse import assert_same_files, read_whole, reingest_three_changes


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


def rewritten_from_scratch(pipeline: Pipeline, fresh: Path) -> Path:
    """Search files written from scratch over the current generation's collections into `fresh`;
    returns the generation's own."""
    generation = pipeline.store.current_generation()
    snapshot = pipeline.store.require_snapshot()
    client = persistent_client(generation / "chroma")
    try:
        search_files.write_search_files(
            raw_collection(client, snapshot.chunk_rows.name),
            raw_collection(client, snapshot.sentence_rows.name),
            fresh,
        )
    finally:
        close_client(client)
    return generation / SEARCH


def test_an_ingest_reuses_the_search_files_of_unchanged_articles(
    make_pipeline: MakePipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the changed and new articles' chunk texts and sentences are read from Chroma and
    tokenised; the files are the same, byte for byte, as if all had been."""
    again = reingest_three_changes(make_pipeline, tmp_path, monkeypatch)
    assert read_whole(again, "_chunks") == [[]]  # ids alone, no texts
    assert read_whole(again, "_sentences") == []
    assert 0 < again.tokenised == again.new_chunks
    fresh = tmp_path / "fresh"
    written = rewritten_from_scratch(again.pipeline, fresh)
    names = assert_same_files(written, fresh)
    assert {Path("sentence_vectors.npy"), Path("bm25/terms.npy")} <= names
    assert {Path(search_files.FACTS), Path(search_files.CHUNK_META)} <= names


def make_older(pipeline: Pipeline, version: str) -> Path:
    """Turn the current generation's search files into those `version` wrote: without the
    sentences' facts and the chunks' metadata (3), nor the chunks' starts and terms (2)."""
    search = pipeline.store.current_generation() / SEARCH
    missing = [search_files.FACTS, search_files.FACT_OFFSETS]
    missing += [search_files.CHUNK_META, search_files.CHUNK_META_OFFSETS]
    if version == "2":
        missing += search_files.FOR_THE_NEXT_WRITER
    for name in missing:
        (search / name).unlink()
    (search / "version").write_text(version, encoding="utf-8")
    return search


@pytest.mark.parametrize("version", ["2", "3"])
def test_older_search_files_are_read_and_reused_as_far_as_they_go(
    make_pipeline: MakePipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    """Files written before the chunks' starts and terms (version 2) or the sentences' facts
    (3) were kept still answer, and the next ingest reads every chunk text again (their
    sentences' vectors are still reused)."""

    def as_older(pipeline: Pipeline) -> None:
        search = make_older(pipeline, version)
        reader = make_pipeline(docs=tmp_path / "corpus" / "docs")
        read = reader.store.require_snapshot().search
        assert read.sentence_facts is None and read.chunk_meta is None
        assert (read.chunk_starts is None) == (read.lexical.terms is None) == (version == "2")
        lines = (tmp_path / "corpus" / "questions.jsonl").read_text(encoding="utf-8")
        question = json.loads(lines.splitlines()[0])
        scores = read.lexical.scores(tokenize(question["reference_contexts"][0]))
        assert read.source(int(np.argmax(scores))) == question["reference_sources"][0]
        answer = reader.chain.invoke({"question": question["question"]})  # facts worked out
        assert answer.citations[0].source == question["reference_sources"][0]
        assert (search / "version").read_text(encoding="utf-8") == version  # not written again

    again = reingest_three_changes(make_pipeline, tmp_path, monkeypatch, as_older)
    assert read_whole(again, "_chunks") == [["documents", "metadatas"]]
    assert read_whole(again, "_sentences") == []
    assert again.tokenised > 30
    fresh = tmp_path / "fresh"
    assert_same_files(rewritten_from_scratch(again.pipeline, fresh), fresh)


@pytest.mark.parametrize("version", ["2", "3"])
def test_an_ingest_with_nothing_changed_upgrades_older_search_files(
    make_pipeline: MakePipeline, tmp_path: Path, version: str
) -> None:
    """An index written by an older release gets this release's search files (and their faster
    first questions) on the next `rag ingest`, even when no document changed; the files are the
    ones a build from scratch writes, and the documents are not embedded again."""
    write_corpus(tmp_path / "corpus", 12)
    pipeline = make_pipeline(docs=tmp_path / "corpus" / "docs")
    pipeline.ingest()
    make_older(pipeline, version)
    older = pipeline.store.current_generation()
    steps: list[IngestProgress] = []
    summary = pipeline.ingest(progress=steps.append)
    assert (summary.added, summary.updated, summary.removed, summary.unchanged) == (0, 0, 0, 12)
    assert [step.note for step in steps] == [SEARCH_FILES_NOTE]  # `rag ingest` prints it
    assert pipeline.store.current_generation() != older  # a new generation, atomically swapped
    search = pipeline.store.current_generation() / SEARCH
    assert (search / "version").read_text(encoding="utf-8") == search_files.VERSION
    assert pipeline.store.require_snapshot().search.sentence_facts is not None
    fresh = tmp_path / "fresh"
    assert_same_files(rewritten_from_scratch(pipeline, fresh), fresh)
    current = pipeline.store.current_generation()
    steps.clear()
    assert pipeline.ingest(progress=steps.append).unchanged == 12
    assert pipeline.store.current_generation() == current  # up to date: nothing written
    assert steps == []
