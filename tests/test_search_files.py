"""A replica holds the search files and what questions fetched, never the whole generation."""

from __future__ import annotations

import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np

from rag.bench.corpus import write_corpus
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
