"""Incremental ingest into a real Chroma: idempotence, updates, deletions, bad files, kills."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.app import Pipeline
from rag.errors import NoDocumentsError
from rag.ingest.pipeline import IngestProgress
from tests.conftest import ROOT, SEEDS, MakePipeline


def chunk_ids(pipeline: Pipeline) -> set[str]:
    return {chunk.id for chunk in pipeline.store.require_snapshot().every_chunk()}


def all_text(pipeline: Pipeline) -> str:
    return " ".join(chunk.text for chunk in pipeline.store.require_snapshot().every_chunk())


def test_ingest_twice_is_ingest_once(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    first = pipeline.ingest()
    assert (first.added, first.unchanged, first.skipped) == (1, 0, [])
    ids = chunk_ids(pipeline)
    generation = pipeline.store.current_generation()
    second = pipeline.ingest()
    assert second.as_dict() == {
        "added": 0,
        "updated": 0,
        "removed": 0,
        "unchanged": 1,
        "chunks": first.chunks,
        "skipped": [],
    }
    assert chunk_ids(pipeline) == ids
    assert pipeline.store.current_generation() == generation  # nothing rewritten


def test_stored_chunks_rebuild_their_document_text(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.ingest()
    snapshot = pipeline.store.require_snapshot()
    seed = next(SEEDS.glob("*.txt"))
    text = snapshot.document_text(seed.name)
    assert text == seed.read_text(encoding="utf-8")
    chunks = list(snapshot.every_chunk())
    sentences = snapshot.sentence_rows.get(include=[])["ids"]
    assert chunks and sum(len(c.sentences) for c in chunks) == len(sentences)
    for chunk in chunks:
        assert text[chunk.meta["start"] : chunk.meta["end"]] == chunk.text
        for sentence in chunk.sentences:
            assert chunk.meta["start"] <= sentence.start < sentence.end <= chunk.meta["end"]
            assert text[sentence.start : sentence.end] == sentence.text


def test_changed_file_replaces_its_chunks_and_deleted_file_disappears(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    docs = tmp_path / "docs"
    (docs / "extra.txt").write_text("Harbour News\nThe harbour reopened on Friday after repairs.\n")
    assert pipeline.ingest().added == 2
    old_ids = chunk_ids(pipeline)
    (docs / "extra.txt").write_text(
        "Harbour News\nThe harbour closed again on Sunday for storms.\n"
    )
    summary = pipeline.ingest()
    assert (summary.updated, summary.unchanged, summary.added) == (1, 1, 0)
    texts = all_text(pipeline)
    assert "closed again on Sunday" in texts and "reopened on Friday" not in texts
    assert len(old_ids - chunk_ids(pipeline)) == 1
    (docs / "extra.txt").unlink()
    summary = pipeline.ingest()
    assert summary.removed == 1
    snapshot = pipeline.store.require_snapshot()
    chunks = list(snapshot.every_chunk())
    assert all(c.meta["source"] != "extra.txt" for c in chunks)
    assert all(s.source != "extra.txt" for c in chunks for s in c.sentences)
    assert snapshot.lexical.size == len(chunks)
    assert set(snapshot.documents) == {next(SEEDS.glob("*.txt")).name}


def test_reset_rebuilds_the_same_index(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.ingest()
    ids = chunk_ids(pipeline)
    summary = pipeline.ingest(reset=True)
    assert summary.added == 1 and chunk_ids(pipeline) == ids


def test_bad_files_are_skipped_and_the_rest_ingested(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    docs = tmp_path / "docs"
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 50)
    (docs / "latin1.txt").write_bytes("Caf\xe9 news".encode("latin-1"))
    (docs / "empty.md").write_text("")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really a pdf")
    (docs / "notes.docx").write_bytes(b"PK\x03\x04")
    (docs / "nul.txt").write_text("Control Test\nThe vote\x00 passed on Monday.\x07\n")
    summary = pipeline.ingest()
    skipped = {Path(s["path"]).name: s["reason"] for s in summary.skipped}
    assert set(skipped) == {"binary.txt", "latin1.txt", "empty.md", "broken.pdf", "notes.docx"}
    assert "binary" in skipped["binary.txt"] and "UTF-8" in skipped["latin1.txt"]
    assert "empty" in skipped["empty.md"] and "PDF" in skipped["broken.pdf"]
    assert summary.added == 2
    answer = pipeline.chain.invoke({"question": "When did the vote pass?"})
    assert not answer.refused and "Monday" in answer.answer


def test_no_documents_is_a_clear_error(make_pipeline: MakePipeline, tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(NoDocumentsError, match="no documents"):
        make_pipeline(docs=empty).ingest()
    with pytest.raises(NoDocumentsError, match="no such"):
        make_pipeline(docs=tmp_path / "missing").ingest()


@pytest.mark.slow
def test_killed_ingest_leaves_the_previous_index_answering(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    pipeline.ingest()
    before = pipeline.store.current_generation()
    docs = tmp_path / "docs"
    sentences = [
        f"Report {i} says the bridge number {i} in Town{i} was repaired." for i in range(30)
    ]
    for i in range(40):
        (docs / f"bulk-{i:03d}.txt").write_text(f"Bulk Report {i}\n" + " ".join(sentences) + "\n")
    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_DOCS_DIR": str(docs)}
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "ingest"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # wait until it is writing chunks into the new generation
        if "bulk-005" in line:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert pipeline.store.current_generation() == before
    answer = pipeline.chain.invoke({"question": "Who is Steve Witkoff?"})
    assert not answer.refused and "Witkoff" in answer.answer
    summary = pipeline.ingest()
    assert summary.added == 40 and summary.unchanged == 1
    generations = list((tmp_path / "index").glob("gen-*"))
    assert len(generations) <= 2  # the crashed build was cleaned up
    shutil.rmtree(docs)
    docs.mkdir()
    time.sleep(0)  # the index stays usable even with its folder emptied
    assert pipeline.store.snapshot() is not None
    json.dumps(summary.as_dict())


def test_a_question_in_flight_survives_a_generation_switch(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    pipeline.ingest()
    in_flight = pipeline.store.require_snapshot()  # a request thread holds this generation
    (tmp_path / "docs" / "extra.txt").write_text("Extra News\nThe museum opened on Sunday.\n")
    pipeline.ingest()
    assert pipeline.store.snapshot() is not in_flight  # readers moved to the new generation
    vector = pipeline.store.embeddings.embed_query("Who is Steve Witkoff?")
    hits = in_flight.chunks.similarity_search_by_vector_with_relevance_scores(vector, k=2)
    assert len(hits) == 2  # the old generation is still readable, not closed under it


def test_progress_is_one_event_per_indexed_file(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    (tmp_path / "docs" / "extra.txt").write_text("Extra News\nThe museum opened on Sunday.\n")
    steps: list[IngestProgress] = []
    pipeline.ingest(progress=steps.append)
    sources = sorted(p.name for p in (tmp_path / "docs").iterdir())
    assert [(s.done, s.total) for s in steps] == [(0, 2), (1, 2)]
    assert sorted(s.source for s in steps) == sources
    steps.clear()
    pipeline.ingest(progress=steps.append)
    assert steps == []  # nothing changed: nothing announced
