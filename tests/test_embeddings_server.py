"""RAG_EMBEDDINGS_URL: embeddings from a real OpenAI-compatible server (tests/embeddings_server.py).

The server runs the packaged all-MiniLM-L6-v2 on every request over real HTTP, so what arrives
through LangChain's OpenAIEmbeddings are real vectors: the same, within float tolerance, as the
local fp32 backend's, and so are the answers.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rag.app import Pipeline
from rag.cli import app
from rag.embeddings import load_embeddings
from rag.errors import EmbeddingServerError, ModelError
from tests.conftest import SEEDS, MakePipeline
from tests.embeddings_server import EmbeddingsServer

QUESTIONS = [
    "Who is Steve Witkoff?",
    "Which US officials pulled out of the Ukraine ceasefire talks?",
    "In which city were the ceasefire negotiations taking place?",
    "What is the capital of Australia?",
]


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddingsServer]:
    with EmbeddingsServer() as running:
        yield running


@pytest.fixture
def healthy(server: EmbeddingsServer) -> Iterator[EmbeddingsServer]:
    """The shared server, reset to answering normally after the test."""
    yield server
    server.fail_with, server.dimensions = None, None


def vectors_by_id(pipeline: Pipeline) -> dict[str, np.ndarray]:
    snapshot = pipeline.store.require_snapshot()
    return {
        f"{s.chunk_id}:{s.start}": s.vector
        for chunk in snapshot.every_chunk()
        for s in chunk.sentences
    }


@pytest.mark.slow
def test_ingest_and_ask_through_the_server_match_local_embedding(
    healthy: EmbeddingsServer, make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    local = make_pipeline(embedding_backend="fp32", index_dir=tmp_path / "local")
    local.ingest()
    before = healthy.texts
    served = make_pipeline(embeddings_url=healthy.base_url + "/")
    summary = served.ingest()
    snapshot = served.store.require_snapshot()
    # Chunks and sentences alike came from the server: each distinct text once, plus at most
    # one probe of the vectors' dimension.
    chunks = list(snapshot.every_chunk())
    sentences = [s.text for chunk in chunks for s in chunk.sentences]
    distinct = len({chunk.text for chunk in chunks} | set(sentences))
    assert summary.chunks == 15 and distinct > 60
    assert distinct <= healthy.texts - before <= distinct + 1
    assert snapshot.manifest["embedding_backend"] == healthy.base_url  # the trailing / dropped
    assert snapshot.manifest["embed"] == "chunks-and-sentences"
    assert snapshot.manifest["embedding_dim"] == 384
    ours, theirs = vectors_by_id(served), vectors_by_id(local)
    assert ours.keys() == theirs.keys() and len(ours) > 50
    assert max(float(np.abs(ours[k] - theirs[k]).max()) for k in ours) < 1e-5
    for question in QUESTIONS:
        remote = served.chain.invoke({"question": question})
        here = local.chain.invoke({"question": question})
        assert (remote.answer, remote.refused) == (here.answer, here.refused)
        assert [c.quote for c in remote.citations] == [c.quote for c in here.citations]
    assert "Witkoff" in served.chain.invoke({"question": QUESTIONS[0]}).answer


@pytest.mark.slow
@pytest.mark.parametrize(
    ("embed", "recorded", "chunks_sent"),
    [
        ("sentences", "sentences", False),  # chunk vectors are pooled here, from the sentences'
        ("chunks-late", "chunks-and-sentences", True),  # no token vectors over HTTP to pool
    ],
)
def test_what_a_server_embeds_follows_rag_embed(
    healthy: EmbeddingsServer,
    make_pipeline: MakePipeline,
    embed: str,
    recorded: str,
    chunks_sent: bool,
) -> None:
    before = healthy.texts
    served = make_pipeline(embeddings_url=healthy.base_url, embed=embed)
    served.ingest()
    snapshot = served.store.require_snapshot()
    assert snapshot.manifest["embed"] == recorded
    chunks = list(snapshot.every_chunk())
    distinct = {s.text for c in chunks for s in c.sentences}
    if chunks_sent:
        distinct |= {c.text for c in chunks}
    assert len(distinct) <= healthy.texts - before <= len(distinct) + 1
    assert served.ingest().unchanged == 1


@pytest.mark.slow
def test_a_change_of_server_or_model_re_embeds(
    healthy: EmbeddingsServer, make_pipeline: MakePipeline
) -> None:
    assert make_pipeline(embeddings_url=healthy.base_url).ingest().added == 1
    assert make_pipeline(embeddings_url=healthy.base_url).ingest().unchanged == 1
    local = make_pipeline(embedding_backend="fp32").ingest()  # the same files, other vectors
    assert (local.added, local.unchanged) == (1, 0)
    again = make_pipeline(embeddings_url=healthy.base_url).ingest()
    assert (again.added, again.unchanged) == (1, 0)
    # Same URL and model name, but the server's model now gives other vectors (here: shorter).
    healthy.dimensions = 128
    pipeline = make_pipeline(embeddings_url=healthy.base_url, embedding_batch_size=31)
    assert pipeline.ingest().added == 1
    assert pipeline.store.require_snapshot().manifest["embedding_dim"] == 128


@pytest.mark.slow
def test_the_api_key_is_sent(healthy: EmbeddingsServer) -> None:
    embeddings = load_embeddings("all-MiniLM-L6-v2", url=healthy.base_url, api_key="s3cret")
    assert embeddings.encode(["hello"]).shape == (1, 384)
    assert healthy.authorization == "Bearer s3cret"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ((500, "CUDA out of memory"), "HTTP 500: CUDA out of memory"),
        ((401, "invalid api key"), "HTTP 401: invalid api key"),
        ((404, "model 'x' not found"), "HTTP 404: model 'x' not found"),
    ],
)
def test_http_errors_are_one_clear_line(
    healthy: EmbeddingsServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure: tuple[int, str],
    message: str,
) -> None:
    shutil.copytree(SEEDS, tmp_path / "docs")
    healthy.fail_with = failure
    monkeypatch.setenv("RAG_EMBEDDINGS_URL", healthy.base_url)
    result = CliRunner().invoke(app, ["ingest", "--docs", "docs", "--index-dir", "idx"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"error: embedding server {healthy.base_url} (model 'all-MiniLM-L6-v2'): {message}"
    )


@pytest.mark.slow
def test_a_dimension_change_mid_run_is_a_clear_error(healthy: EmbeddingsServer) -> None:
    embeddings = load_embeddings("all-MiniLM-L6-v2", url=healthy.base_url, batch_size=7)
    assert embeddings.encode(["one"]).shape == (1, 384)
    healthy.dimensions = 100
    with pytest.raises(EmbeddingServerError, match="100-dimensional vectors, earlier 384"):
        embeddings.encode(["two"])


def test_a_server_that_is_down_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(SEEDS, tmp_path / "docs")
    monkeypatch.setenv("RAG_EMBEDDINGS_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    result = CliRunner().invoke(app, ["ask", "--docs", "docs", "--index-dir", "idx", "Who?"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: embedding server http://127.0.0.1:9/v1 (model 'all-MiniLM-L6-v2'): "
        "not reachable (is it running, and is the URL right?)"
    ]


@pytest.mark.slow
def test_the_api_answers_503_while_the_server_fails(
    healthy: EmbeddingsServer, make_pipeline: MakePipeline
) -> None:
    from rag.web.server import create_app

    pipeline = make_pipeline(embeddings_url=healthy.base_url)
    pipeline.ingest()
    with TestClient(create_app(pipeline, examples=[])) as client:
        assert client.post("/api/ask", json={"question": QUESTIONS[0]}).status_code == 200
        healthy.fail_with = (503, "loading model")
        response = client.post("/api/ask", json={"question": QUESTIONS[1]})
        assert response.status_code == 503
        body = json.loads(response.text)
        assert body["error"] == "unavailable" and "HTTP 503: loading model" in body["message"]


@pytest.mark.slow
def test_an_index_of_other_dimensions_is_a_clear_error_when_asked(
    healthy: EmbeddingsServer, make_pipeline: MakePipeline
) -> None:
    make_pipeline(embeddings_url=healthy.base_url).ingest()  # 384-dimensional vectors
    # The server's model is swapped behind the same URL and name; a new process asks.
    healthy.dimensions = 128
    asking = make_pipeline(embeddings_url=healthy.base_url, embedding_batch_size=29)
    clear = r"384-dimensional vectors .* now gives 128: run `rag ingest`"
    with pytest.raises(ModelError, match=clear):
        asking.chain.invoke({"question": QUESTIONS[0]})
