"""Server mode: the index lives in a real `chroma run` server that every replica shares."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.app import Pipeline, build_pipeline
from rag.errors import BadInputError
from rag.generations.server import SEARCH_BLOB, ServerGenerations
from rag.ingest.pipeline import IngestSummary
from rag.settings import Settings
from tests.chroma_server import ChromaServer
from tests.conftest import ROOT, MakePipeline

# Every test here talks to a real Chroma server process.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def prefix(tmp_path: Path) -> str:
    """A collection prefix of this test's own, so tests sharing the server never meet."""
    return "t" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]


def collections_of(pipeline: Pipeline, prefix: str) -> set[str]:
    generations = pipeline.store.generations
    assert isinstance(generations, ServerGenerations)
    client = generations.client()
    return {c.name for c in client.list_collections() if c.name.startswith(prefix)}


def test_ingest_ask_and_reingest_through_the_server(
    make_pipeline: MakePipeline, chroma: ChromaServer, prefix: str, tmp_path: Path
) -> None:
    pipeline = make_pipeline(chroma_url=chroma.url, collection=prefix)
    assert pipeline.store.is_empty()
    first = pipeline.ingest()
    assert first.added == 1 and first.chunks > 0
    assert not list((tmp_path / "index").glob("gen-*"))  # nothing indexed on local disk
    generation = pipeline.store.current_generation()
    answer = pipeline.chain.invoke({"question": "Who is Steve Witkoff?"})
    assert not answer.refused and "Witkoff" in answer.answer
    snapshot = pipeline.store.require_snapshot()
    for citation in answer.citations:
        assert (
            snapshot.document_text(citation.source)[citation.start : citation.end] == citation.quote
        )

    again = pipeline.ingest()  # unchanged: no new generation
    assert (again.unchanged, again.added, again.chunks) == (1, 0, first.chunks)
    assert pipeline.store.current_generation() == generation

    docs = tmp_path / "docs"
    (docs / "harbour.txt").write_text(
        "Harbour News\nThe harbour reopened on Friday after repairs.\n"
    )
    assert pipeline.ingest().added == 1
    (docs / "harbour.txt").write_text("Harbour News\nThe harbour closed on Sunday for storms.\n")
    changed = pipeline.ingest()
    assert (changed.updated, changed.unchanged) == (1, 1)
    texts = " ".join(c.text for c in pipeline.store.require_snapshot().every_chunk())
    assert "closed on Sunday" in texts and "reopened on Friday" not in texts
    answer = pipeline.chain.invoke({"question": "When did the harbour close?"})
    assert "Sunday" in answer.answer
    # Only the current and the previous generation stay on the server, plus the meta collection.
    names = collections_of(pipeline, prefix)
    generations = {n.split("-")[1] for n in names if n != f"{prefix}-meta"}
    assert len(generations) == 2 and f"{prefix}-meta" in names


def test_replicas_share_the_index_and_see_a_new_generation(
    make_pipeline: MakePipeline, chroma: ChromaServer, prefix: str, tmp_path: Path
) -> None:
    writer = make_pipeline(chroma_url=chroma.url, collection=prefix)
    writer.ingest()
    replica = build_pipeline(
        Settings(
            docs_dir=tmp_path / "docs",
            index_dir=tmp_path / "other",
            chroma_url=chroma.url,
            collection=prefix,
        )
    )
    assert set(replica.store.require_snapshot().documents) == set(
        writer.store.require_snapshot().documents
    )
    (tmp_path / "docs" / "vote.txt").write_text(
        "Council News\nThe council vote passed on Monday.\n"
    )
    writer.ingest()
    answer = replica.chain.invoke({"question": "When did the vote pass?"})  # no restart
    assert not answer.refused and "Monday" in answer.answer
    assert "vote.txt" in replica.store.require_snapshot().documents


def test_reset_rebuilds_on_the_server(
    make_pipeline: MakePipeline, chroma: ChromaServer, prefix: str
) -> None:
    pipeline = make_pipeline(chroma_url=chroma.url, collection=prefix)
    pipeline.ingest()
    ids = {c.id for c in pipeline.store.require_snapshot().every_chunk()}
    assert pipeline.ingest(reset=True).added == 1
    assert {c.id for c in pipeline.store.require_snapshot().every_chunk()} == ids


def test_a_bad_server_url_is_a_clear_error(make_pipeline: MakePipeline) -> None:
    with pytest.raises(BadInputError, match="http://host:port"):
        make_pipeline(chroma_url="chroma.example:8000").store.is_empty()


@pytest.mark.slow
def test_cli_ingest_and_ask_with_rag_chroma_url(
    chroma: ChromaServer, prefix: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "RAG_CHROMA_URL": chroma.url,
        "RAG_COLLECTION": prefix,
        "RAG_DOCS_DIR": str(ROOT / "seeds"),
        "RAG_INDEX_DIR": str(tmp_path / "unused"),
    }
    run = [sys.executable, "-m", "rag"]
    ingest = subprocess.run([*run, "ingest", "--json"], env=env, capture_output=True, text=True)
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["added"] == 1
    ask = subprocess.run(
        [*run, "ask", "--json", "Which US officials pulled out of the London ceasefire talks?"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert "Rubio" in answer["answer"] and answer["citations"]
    text = (ROOT / "seeds" / answer["citations"][0]["source"]).read_text(encoding="utf-8")
    for citation in answer["citations"]:
        assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert not (tmp_path / "unused").exists()


def test_two_replicas_ingesting_at_once_take_turns(
    make_pipeline: MakePipeline, chroma: ChromaServer, prefix: str, tmp_path: Path
) -> None:
    import threading

    first = make_pipeline(chroma_url=chroma.url, collection=prefix)
    second = build_pipeline(
        Settings(docs_dir=tmp_path / "docs", index_dir=tmp_path / "other", chroma_url=chroma.url,
                 collection=prefix)
    )  # fmt: skip
    results: dict[str, IngestSummary | Exception] = {}

    def run(name: str, pipeline: Pipeline) -> None:
        try:
            results[name] = pipeline.ingest()
        except Exception as err:  # surfaced by the assertion below
            results[name] = err

    threads = [threading.Thread(target=run, args=item) for item in
               (("first", first), ("second", second))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summaries = [results["first"], results["second"]]
    assert all(isinstance(s, IngestSummary) for s in summaries), summaries
    counts = sorted((s.added, s.unchanged) for s in summaries if isinstance(s, IngestSummary))
    assert counts == [(0, 1), (1, 0)]
    names = collections_of(first, prefix)
    assert len({n.split("-")[1] for n in names if n != f"{prefix}-meta"}) == 1
    assert first.chain.invoke({"question": "Who is Steve Witkoff?"}).citations


def test_a_replica_downloads_the_search_files_once_per_generation(
    make_pipeline: MakePipeline, chroma: ChromaServer, prefix: str, tmp_path: Path
) -> None:
    writer = make_pipeline(chroma_url=chroma.url, collection=prefix)
    writer.ingest()
    replica = make_pipeline(chroma_url=chroma.url, collection=prefix, cache_dir=tmp_path / "c")
    generations = replica.store.generations
    assert isinstance(generations, ServerGenerations)
    generation = str(replica.store.current_generation())
    answer = replica.chain.invoke({"question": "Who is Steve Witkoff?"})
    assert "Witkoff" in answer.answer
    cached = generations.search_cache / generation
    assert (cached / "bm25").is_dir() and cached.is_relative_to(tmp_path / "c")
    # A generation written before search files existed: the replica builds them itself, once.
    texts = generations.client().get_collection(f"{prefix}-{generation}-texts")
    texts.delete(where={"ref": SEARCH_BLOB})
    shutil.rmtree(cached)
    again = make_pipeline(chroma_url=chroma.url, collection=prefix, cache_dir=tmp_path / "c")
    assert again.chain.invoke({"question": "Who is Steve Witkoff?"}).answer == answer.answer
    assert (cached / "bm25").is_dir()
