"""Faults: kill -9 mid-ingest (embedded and server mode), the Chroma server stopping mid-session."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.app import Pipeline
from rag.errors import StoreUnavailableError
from rag.generations.server import ServerGenerations
from tests.chroma_server import ChromaServer
from tests.conftest import ROOT, MakePipeline

QUESTION = "Who is Steve Witkoff?"


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-data").start()
    yield server
    server.stop()


def write_bulk(docs: Path, count: int) -> None:
    """Articles of ~45 texts each, so the ingest writes several embedding batches."""
    for i in range(count):
        sentences = [f"Report {i}-{j} says bridge {j} in Town{i} was repaired." for j in range(40)]
        (docs / f"bulk-{i:03d}.txt").write_text(f"Bulk Report {i}\n" + " ".join(sentences) + "\n")


def kill_mid_ingest(env: dict[str, str], after: str) -> None:
    """Run `rag ingest` in a child process and SIGKILL it once it has printed `after`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "ingest"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = False
    for line in process.stderr:
        if after in line:
            seen = True
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert seen, "the ingest ended before it could be killed"


def server_generations(pipeline: Pipeline) -> dict[str, int]:
    """Generation name -> chunk count of every generation on the server."""
    generations = pipeline.store.generations
    assert isinstance(generations, ServerGenerations)
    client = generations.client()
    found = {}
    for name in generations.generations_on_server():
        collection = client.get_collection(generations.collection_name(name, "chunks"))
        found[name] = collection.count()
    return found


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_kill_9_mid_ingest_leaves_the_previous_index_answering(
    make_pipeline: MakePipeline, tmp_path: Path, mode: str
) -> None:
    server = ChromaServer(tmp_path / "chroma-data").start() if mode == "server" else None
    try:
        prefix = "k" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:8]
        extra: dict[str, Any] = {"chroma_url": server.url, "collection": prefix} if server else {}
        pipeline = make_pipeline(**extra)
        pipeline.ingest()
        before = pipeline.store.current_generation()
        docs = tmp_path / "docs"
        write_bulk(docs, 60)
        env = {"RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_DOCS_DIR": str(docs)}
        if server:
            env |= {"RAG_CHROMA_URL": server.url, "RAG_COLLECTION": prefix}
        kill_mid_ingest(env, after="[50/60]")  # past the first 2,048-text embedding batch

        assert pipeline.store.current_generation() == before
        if server:  # the killed build had written vectors into a generation of its own
            orphans = {g: n for g, n in server_generations(pipeline).items() if g != before}
            assert orphans and max(orphans.values()) > 0
        else:
            assert len(list((tmp_path / "index").glob("gen-*"))) == 2
        answer = pipeline.chain.invoke({"question": QUESTION})
        assert not answer.refused and "Witkoff" in answer.answer

        summary = pipeline.ingest()  # the next ingest completes and cleans up
        assert (summary.added, summary.unchanged, summary.skipped) == (60, 1, [])
        assert pipeline.store.current_generation() != before
        if server:
            assert set(server_generations(pipeline)) == {
                before,
                pipeline.store.current_generation(),
            }
            assert isinstance(pipeline.store.generations, ServerGenerations)
            assert pipeline.store.generations.writers.records() == []
        else:
            assert len(list((tmp_path / "index").glob("gen-*"))) == 2
        answer = pipeline.chain.invoke({"question": "What does report 7-3 say?"})
        assert "Town7" in answer.answer
    finally:
        if server:
            server.stop()


@pytest.mark.slow
def test_chroma_server_outage_is_a_clear_error_and_recovers_without_restart(
    make_pipeline: MakePipeline, chroma: ChromaServer
) -> None:
    from rag.web.server import create_app, serve_in_background

    pipeline = make_pipeline(chroma_url=chroma.url)
    pipeline.ingest()
    with (
        serve_in_background(create_app(pipeline, examples=[])) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200

        chroma.stop()
        with pytest.raises(StoreUnavailableError, match="not reachable"):
            pipeline.chain.invoke({"question": QUESTION})
        down = [client.post("/api/ask", json={"question": QUESTION}), client.get("/api/health")]
        for response in down:
            assert response.status_code == 503, response.request.url
            assert response.json()["error"] == "unavailable"
            assert "not reachable" in response.json()["message"]
        with pytest.raises(StoreUnavailableError):
            pipeline.ingest()

        chroma.start()  # same port, same data; the app is not restarted
        deadline = time.monotonic() + 30
        while client.get("/api/health").status_code != 200:
            assert time.monotonic() < deadline, "no recovery after the server came back"
            time.sleep(0.5)
        response = client.post("/api/ask", json={"question": QUESTION})
        assert response.status_code == 200 and "Witkoff" in response.json()["answer"]
        assert pipeline.ingest().unchanged == 1
