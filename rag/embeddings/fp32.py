"""The fp32 backend: sentence-transformers on torch, on the CPU."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ModelError

log = logging.getLogger(__name__)


class TorchEncoder:
    """A SentenceTransformer behind the Encoder interface."""

    def __init__(self, model_path: Path) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self.model: Any = SentenceTransformer(
                str(model_path), device="cpu", local_files_only=True
            )
        except Exception as err:
            raise ModelError(f"cannot load embedding model from {model_path}: {err}") from err
        log.info("loaded embedding model %s", model_path)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors for `texts`."""
        vectors: np.ndarray = self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors
