"""The fp32 backend: sentence-transformers on torch, on the CPU."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from rag.embeddings.int8 import OnnxInt8Encoder
from rag.embeddings.late import Span, SpanVectors, encode_late
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
        self._tokens = OnnxInt8Encoder.tokenizer_only(model_path)  # same tokenizer.json, offsets
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

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token embeddings (batch x tokens x dim) of padded token ids, from the torch model."""
        import torch

        inputs = {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}
        if self._tokens.wants_token_types(self.model[0].auto_model):
            inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
        with torch.inference_mode():
            hidden: np.ndarray = self.model[0].auto_model(**inputs).last_hidden_state.numpy()
        return hidden

    def encode_late(
        self, texts: list[str], spans: list[list[Span]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[SpanVectors]]:
        """Unit vectors of `texts` and of their character `spans`, one pass each (late.py)."""
        tokens = self._tokens
        return encode_late(tokens.tokenizer, self.run, tokens.pool, texts, spans, batch_size)
