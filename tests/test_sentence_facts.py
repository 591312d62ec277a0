"""What a question reads from the search files (sentence facts, chunks) is what it would work out
or ask Chroma for: the scorer's features are exactly the same."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rag import snapshot as snapshot_module
from rag.answer import facts
from rag.answer.features import analyse_question, candidate_features
from rag.answer.reading import reading_pool
from rag.app import Pipeline
from rag.evaluation.dataset import load_questions
from rag.lexical import tokenize
from rag.snapshot import StoredChunk
from tests.conftest import ROOT

SLICE = ROOT / "eval" / "realtimeqa-2023-slice"
QUESTIONS = 6  # real news on what they ask: names, numbers, dates, quotes, datelines


@pytest.fixture(scope="module")
def real_news(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pipeline, list[str]]:
    """The articles the first answerable questions of the real-news slice are on, indexed, and
    those questions plus a few the slice withholds the answer to."""
    from rag.app import build_pipeline
    from rag.settings import Settings

    base = tmp_path_factory.mktemp("news")
    (base / "docs").mkdir()
    questions = load_questions(SLICE / "questions.jsonl")
    asked = [q for q in questions if q.answerable][:QUESTIONS]
    for name in {q.reference_sources[0] for q in asked}:
        shutil.copy(SLICE / "docs" / name, base / "docs" / name)
    pipeline = build_pipeline(Settings(docs_dir=base / "docs", index_dir=base / "index"))
    pipeline.ingest()
    withheld = [q.question for q in questions if not q.answerable][:4]
    return pipeline, [q.question for q in asked] + withheld


def feature_rows(pipeline: Pipeline, question: str) -> tuple[list[str], np.ndarray]:
    retrieval = pipeline.retriever.retrieve(question, k=10)
    snapshot = pipeline.store.require_snapshot()
    pool = reading_pool(retrieval.documents, snapshot)
    asked = analyse_question(question, "", snapshot)
    candidates, rows = candidate_features(asked, retrieval.query_vector, pool, snapshot)
    return [c.sentence.id for c in candidates], rows


def test_every_stored_sentence_reads_back_as_worked_out(
    real_news: tuple[Pipeline, list[str]],
) -> None:
    snapshot = real_news[0].store.require_snapshot()
    assert snapshot.search.sentence_facts is not None
    sentences = 0
    for chunk in snapshot.every_chunk():
        assert chunk.stored_facts is not None
        assert len(chunk.stored_facts) == len(chunk.sentences)
        for sentence in chunk.sentences:
            terms, worked_out = facts.compute(sentence.text)
            # One pass over the words gives what the separate functions give.
            assert terms == frozenset(tokenize(sentence.text))
            assert worked_out.phrases == facts.phrases(sentence.text)
            assert facts.decode(chunk.stored_facts[sentence.index], sentence.text) == (
                terms,
                worked_out,
            )
            sentences += 1
    assert sentences > 150


def test_feature_rows_are_the_same_read_or_worked_out(
    real_news: tuple[Pipeline, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exactly the same rows (the scorer's weights were fitted on them), and with stored facts
    a question works out none."""
    pipeline, questions = real_news
    snapshot = pipeline.store.require_snapshot()
    snapshot._chunks.clear()
    search = snapshot.search
    worked_out = {}
    search.sentence_facts, stored = None, search.sentence_facts  # as older search files
    for question in questions:
        worked_out[question] = feature_rows(pipeline, question)
    assert all(chunk.stored_facts is None for chunk in snapshot._chunks.values())
    snapshot._chunks.clear()
    search.sentence_facts = stored

    def refuse(text: str) -> None:
        raise AssertionError(f"worked out again: {text!r}")

    monkeypatch.setattr(facts, "compute", refuse)
    for question in questions:
        ids, rows = feature_rows(pipeline, question)
        assert ids == worked_out[question][0] and len(ids) > 10
        assert np.array_equal(rows, worked_out[question][1]), question


def test_chunks_read_from_the_search_files_are_the_ones_chroma_holds(
    real_news: tuple[Pipeline, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text, metadata and sentences: the same, and a question asks Chroma for none of them."""
    pipeline, questions = real_news
    snapshot = pipeline.store.require_snapshot()
    search = snapshot.search
    ids = [search.chunk_id(row) for row in range(snapshot.size)]

    def seen(chunks: list[StoredChunk]) -> dict[str, tuple[object, ...]]:
        return {
            c.id: (
                c.text,
                c.meta,
                [(s.id, s.start, s.end, s.text) for s in c.sentences],
            )
            for c in chunks
        }

    mapped = seen(snapshot._read_chunks([*ids, "no-such-chunk"]))
    search.chunk_meta, stored = None, search.chunk_meta
    from_chroma = seen(snapshot._read_chunks([*ids, "no-such-chunk"]))
    search.chunk_meta = stored
    assert mapped == from_chroma and len(mapped) == len(ids) > 20
    # Chunks of articles too long for the text cache are still asked of Chroma, one by one.
    sizes = sorted(int(d["chars"]) for d in snapshot.documents.values())
    monkeypatch.setattr(snapshot_module, "TEXT_CACHE_CHARS", sizes[len(sizes) // 2] * 4)
    asked: list[str] = []
    real_get = snapshot.chunk_rows.get

    def get(ids: list[str], include: list[str]) -> object:
        asked.extend(ids)
        return real_get(ids=ids, include=include)

    monkeypatch.setattr(snapshot.chunk_rows, "get", get)
    assert seen(snapshot._read_chunks(ids)) == from_chroma
    assert 0 < len(asked) < len(ids)
    monkeypatch.undo()

    def refuse(**kwargs: object) -> None:
        raise AssertionError("asked Chroma for chunks")

    snapshot._chunks.clear()
    monkeypatch.setattr(snapshot.chunk_rows, "get", refuse)
    answers = [pipeline.chain.invoke({"question": question}) for question in questions]
    assert sum(bool(answer.citations) for answer in answers) >= 3 and len(snapshot._chunks) > 10
