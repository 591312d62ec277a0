"""Server mode: the index lives in a real `chroma run` server that every replica shares."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.app import Pipeline, build_pipeline
from rag.errors import BadInputError
from rag.generations.search_files import FOR_THE_NEXT_WRITER, write_search_files
from rag.generations.server import (
    NEXT_WRITER_BLOB,
    SEARCH_BLOB,
    ServerGenerations,
    ServerWriter,
    _read_text,
    _write_text,
    pack,
    unpack,
)
from rag.ingest.pipeline import IngestSummary
from rag.settings import Settings
from tests.chroma_server import ChromaServer
from tests.conftest import ROOT, MakePipeline
from tests.search_reuse import assert_same_files, read_whole, reingest_three_changes

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


def test_an_upload_on_a_replica_keeps_the_archive_a_cron_job_ingests(
    make_pipeline: MakePipeline, chroma: ChromaServer, prefix: str, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from rag.web.server import create_app

    news, docs = tmp_path / "news", tmp_path / "docs"
    (news / "2025").mkdir(parents=True)
    (news / "2025" / "bridge.md").write_text("# Bridge\nAlice Smith opened the bridge on Monday.\n")
    docs.mkdir()
    (docs / "council.md").write_text("# Council\nThe council passed the budget on Tuesday.\n")
    cron = make_pipeline(tmp_path / "cron-docs", chroma_url=chroma.url, collection=prefix)
    assert cron.ingest([news]).added == 1  # `rag ingest /srv/news`
    news.rename(tmp_path / "moved")  # the replicas' host has no such folder
    replica = make_pipeline(docs, chroma_url=chroma.url, collection=prefix, admin_token="op")
    admin = {"authorization": "Bearer op"}
    with TestClient(create_app(replica, examples=[]), raise_server_exceptions=False) as client:
        files = {"file": ("mill.txt", b"Mill News\nThe mill burned on Sunday.\n", "text/plain")}
        assert client.post("/api/documents", files=files, headers=admin).status_code == 201
        assert set(replica.store.require_snapshot().documents) == {
            "2025/bridge.md",
            "council.md",
            "mill.txt",
        }
        asked = client.post("/api/ask", json={"question": "Who opened the bridge?"}).json()
        assert "Alice Smith" in asked["answer"]
        assert client.delete("/api/documents/mill.txt", headers=admin).status_code == 200
    assert set(cron.store.require_snapshot().documents) == {"2025/bridge.md", "council.md"}


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


def server_files(pipeline: Pipeline, tmp_path: Path) -> tuple[Path, Path, set[Path]]:
    """The current generation's search files as the writer stored them (both blobs unpacked),
    the same written from scratch over its collections, and the files a replica downloads."""
    generations = pipeline.store.generations
    assert isinstance(generations, ServerGenerations)
    name = str(pipeline.store.current_generation())
    client = generations.client()

    def collection(kind: str) -> Any:
        return client.get_collection(
            generations.collection_name(name, kind), embedding_function=None
        )

    fresh, written = tmp_path / "fresh", tmp_path / "written"
    write_search_files(collection("chunks"), collection("sentences"), fresh, vectors=False)
    unpack(_read_text(collection("texts"), SEARCH_BLOB), written)
    downloaded = {p.relative_to(written) for p in written.rglob("*") if p.is_file()}
    blob = _read_text(collection("texts"), NEXT_WRITER_BLOB)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(blob))) as archive:
        archive.extractall(written)
    return written, fresh, downloaded


def test_an_ingest_on_the_server_reuses_the_search_files_of_unchanged_articles(
    make_pipeline: MakePipeline,
    chroma: ChromaServer,
    prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As embedded: only the changed and new articles' chunks are read and tokenised, and the
    files are those written from scratch; what only the next writer reads is kept apart, so a
    replica downloads no more than before."""
    again = reingest_three_changes(
        make_pipeline, tmp_path, monkeypatch, chroma_url=chroma.url, collection=prefix
    )
    assert read_whole(again, "-chunks") == [[]]  # ids alone, no texts
    assert read_whole(again, "-sentences") == []
    assert 0 < again.tokenised == again.new_chunks
    written, fresh, downloaded = server_files(again.pipeline, tmp_path)
    names = assert_same_files(written, fresh)
    assert Path("bm25/terms.npy") in names
    assert downloaded == names - {Path(name) for name in FOR_THE_NEXT_WRITER}


def test_a_next_writer_blob_of_other_search_files_is_not_used(
    make_pipeline: MakePipeline,
    chroma: ChromaServer,
    prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A writer of the version before replaces the search files but leaves the next-writer blob
    it copied: its terms belong to other rows, so the next ingest reads every chunk instead."""

    def older_writer(writer: ServerWriter, manifest: dict[str, Any]) -> None:
        search = tmp_path / "older"
        write_search_files(writer.chunks, writer.sentences, search, vectors=False)
        for name in FOR_THE_NEXT_WRITER:
            (search / name).unlink()
        (search / "version").write_text("2", encoding="utf-8")
        _write_text(writer.texts, SEARCH_BLOB, pack(search))

    def ingest_with_the_older_writer(pipeline: Pipeline) -> None:
        docs = tmp_path / "corpus" / "docs"
        names = sorted(p.name for p in docs.iterdir())
        (docs / names[-1]).unlink()  # the rows after its chunks move
        shutil.copy(docs / names[3], docs / "an-older-writers-article.md")
        with monkeypatch.context() as patched:
            patched.setattr(ServerWriter, "_save_search_files", older_writer)
            assert pipeline.ingest().added == 1

    again = reingest_three_changes(
        make_pipeline,
        tmp_path,
        monkeypatch,
        ingest_with_the_older_writer,
        chroma_url=chroma.url,
        collection=prefix,
    )
    assert read_whole(again, "-chunks") == [["documents", "metadatas"]]
    assert again.tokenised > 30
    written, fresh, _ = server_files(again.pipeline, tmp_path)
    assert_same_files(written, fresh)
