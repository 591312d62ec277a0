"""Embeddings: one interface (`Encoder` → `SentenceEmbeddings`), two local backends.

`load_embeddings(model, backend)` is the entry point. `fp32` runs sentence-transformers on torch;
`int8` runs the same model exported to ONNX and quantized once into a cache folder
(`int8_export`, `cache`), encoded by `int8.OnnxInt8Encoder`.
"""

from rag.embeddings.base import Encoder, SentenceEmbeddings
from rag.embeddings.load import BACKENDS, load_embeddings
from rag.embeddings.model_files import (
    PACKAGED_SHA256,
    force_offline,
    resolve_model_path,
    verify_sha256,
)

__all__ = [
    "BACKENDS",
    "PACKAGED_SHA256",
    "Encoder",
    "SentenceEmbeddings",
    "force_offline",
    "load_embeddings",
    "resolve_model_path",
    "verify_sha256",
]
