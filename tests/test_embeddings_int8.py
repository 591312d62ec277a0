"""The int8 backend: exported locally (offline), cached, close to fp32, and never mixed with it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.embeddings import cache as export_cache
from rag.embeddings import int8_export, load_embeddings, resolve_model_path
from rag.errors import ModelError
from tests.conftest import MakePipeline

TEXTS = [
    "Who is Steve Witkoff?",
    "The central bank raised interest rates by a quarter point on Tuesday.",
    "Floods closed 14 schools; officials said 2,300 homes had no power.",
    "Ünïcödé, emoji 😀 and “curly quotes” — all must embed.",
    "x",
    " ".join(["A very long article sentence about the harbour and its repairs."] * 120),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("int8-cache")


@pytest.mark.slow
def test_int8_vectors_are_close_to_fp32(cache: Path) -> None:
    fp32 = load_embeddings("all-MiniLM-L6-v2", "fp32").encode(TEXTS)
    int8 = load_embeddings("all-MiniLM-L6-v2", "int8", cache).encode(TEXTS)
    assert int8.shape == fp32.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    cosine = np.sum(fp32 * int8, axis=1)
    assert cosine.min() > 0.97 and cosine.mean() > 0.985
    # The nearest neighbour of every text is the same under both backends.
    assert (np.argmax(fp32 @ fp32.T - 2 * np.eye(len(TEXTS)), axis=1) ==
            np.argmax(int8 @ int8.T - 2 * np.eye(len(TEXTS)), axis=1)).all()  # fmt: skip


@pytest.mark.slow
def test_the_export_is_cached_and_not_redone(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = resolve_model_path("all-MiniLM-L6-v2")
    first = int8_export.int8_model_file(path, cache)
    assert first.exists() and first.stat().st_size < 40_000_000  # int8: ~1/4 of the fp32 weights

    def no_export(*_: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(int8_export, "export_int8", no_export)
    assert int8_export.int8_model_file(path, cache) == first
    assert not [p for p in first.parent.parent.iterdir() if p.name.startswith(".export-")]


def test_cache_key_follows_the_model_files(tmp_path: Path) -> None:
    path = resolve_model_path("all-MiniLM-L6-v2")
    copy = tmp_path / "model"
    shutil.copytree(path, copy)
    assert export_cache.cache_key(copy) == export_cache.cache_key(copy)
    config = json.loads((copy / "config.json").read_text())
    config["note"] = "changed"
    (copy / "config.json").write_text(json.dumps(config))
    assert export_cache.cache_key(copy) != export_cache.cache_key(path)


@pytest.mark.slow
def test_a_drifting_export_is_rejected_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(int8_export, "MIN_PROBE_COSINE", 1.01)  # no int8 model can pass
    target = tmp_path / "cache" / "onnx-int8" / "model-x"
    with pytest.raises(ModelError, match="drifts too far"):
        int8_export.export_int8(resolve_model_path("all-MiniLM-L6-v2"), target)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="unknown embedding backend"):
        load_embeddings("all-MiniLM-L6-v2", "fp8")


@pytest.mark.slow
def test_switching_backend_re_embeds_the_index(make_pipeline: MakePipeline, cache: Path) -> None:
    fp32 = make_pipeline(embedding_backend="fp32")
    assert fp32.ingest().added == 1
    assert fp32.store.require_snapshot().manifest["embedding_backend"] == "fp32"
    int8 = make_pipeline(embedding_backend="int8", cache_dir=cache)
    summary = int8.ingest()  # same files, other vectors: everything is embedded again
    assert (summary.added, summary.unchanged) == (1, 0)
    snapshot = int8.store.require_snapshot()
    assert snapshot.manifest["embedding_backend"] == "int8"
    query = np.asarray(int8.store.embeddings.embed_query("Who is Steve Witkoff?"))
    vectors = np.stack([s.vector for c in snapshot.every_chunk() for s in c.sentences])
    assert float(np.max(vectors @ query)) > 0.5
    assert int8.ingest().unchanged == 1
    answer = int8.chain.invoke({"question": "Who is Steve Witkoff?"})
    assert "Witkoff" in answer.answer and not answer.refused
