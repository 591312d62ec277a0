"""The embedding model: packaged and checksummed, or any local sentence-transformers folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.embeddings import PACKAGED_SHA256, resolve_model_path, verify_sha256
from rag.errors import ModelError


def test_packaged_model_is_verified_and_offline() -> None:
    path = resolve_model_path("all-MiniLM-L6-v2")
    assert (path / "model.safetensors").exists()


def test_checksum_mismatch_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"not the weights")
    with pytest.raises(ModelError, match="do not match"):
        verify_sha256(fake, PACKAGED_SHA256)


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        resolve_model_path(str(tmp_path / "nowhere"))


def test_another_model_folder_can_be_configured_and_reindexes(
    make_pipeline, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
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
