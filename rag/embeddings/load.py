"""Load the configured embedding model once per process: fp32 torch, int8 ONNX, or a server."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from rag.embeddings.base import Encoder, SentenceEmbeddings
from rag.embeddings.model_files import force_offline, resolve_model_path
from rag.errors import ModelError

log = logging.getLogger(__name__)

BACKENDS = ("fp32", "int8")


@functools.cache
def load_embeddings(
    model: str,
    backend: str = "fp32",
    cache_dir: Path | None = None,
    batch_size: int = 64,
    url: str | None = None,
    api_key: str | None = None,
) -> SentenceEmbeddings:
    """Load (once per process) the configured model on the CPU: fp32 torch or int8 ONNX.

    With `url`, `model` is embedded by that OpenAI-compatible server instead, and the server's
    URL stands in the backend's place (so the manifest records it, and a change re-embeds).
    """
    force_offline()
    if url:
        from rag.embeddings.server import ServerEncoder

        url = url.rstrip("/")
        return SentenceEmbeddings(ServerEncoder(url, model, api_key), model, batch_size, url)
    if backend not in BACKENDS:
        raise ModelError(f"unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)}")
    path = resolve_model_path(model)
    if backend == "int8":
        return SentenceEmbeddings(_int8_model(path, cache_dir), model, batch_size, backend)
    from rag.embeddings.fp32 import TorchEncoder

    return SentenceEmbeddings(TorchEncoder(path), name=model, batch_size=batch_size)


def _int8_model(path: Path, cache_dir: Path | None) -> Encoder:
    from rag.embeddings.cache import default_cache_dir
    from rag.embeddings.int8 import OnnxInt8Encoder
    from rag.embeddings.int8_export import int8_model_file

    try:
        onnx_file = int8_model_file(path, cache_dir or default_cache_dir())
        encoder = OnnxInt8Encoder(onnx_file, path)
    except ModelError:
        raise
    except Exception as err:
        raise ModelError(f"cannot build the int8 embedding model from {path}: {err}") from err
    log.info("loaded int8 embedding model %s", onnx_file)
    return encoder
