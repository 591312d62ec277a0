"""The one interface every embedding backend meets, and its LangChain face."""

from __future__ import annotations

import functools
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.embeddings.late import LateEncoder, Span, SpanVectors
from rag.errors import ModelError


class Encoder(Protocol):
    """Texts in, a float32 array of unit vectors out, one row per text."""

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


class SentenceEmbeddings(Embeddings):
    """LangChain Embeddings over any Encoder: unit vectors, so a dot product is the cosine."""

    def __init__(
        self, model: Encoder, name: str, batch_size: int = 64, backend: str = "fp32"
    ) -> None:
        self.model = model
        self.name = name
        self.backend = backend
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed to a float32 numpy array of unit vectors."""
        return self.model.encode(texts, batch_size=self.batch_size)

    @functools.cached_property
    def dimension(self) -> int:
        """Numbers per vector (asked of the model once)."""
        return int(self.encode(["dimension"]).shape[1])

    @property
    def supports_late_chunking(self) -> bool:
        """Whether sentence vectors can be pooled from their chunk's pass (a local model)."""
        return isinstance(self.model, LateEncoder)

    def encode_late(
        self, texts: list[str], spans: list[list[Span]]
    ) -> tuple[np.ndarray, list[SpanVectors]]:
        """Unit vectors of `texts` and of their character `spans` (late chunking)."""
        if not isinstance(self.model, LateEncoder):
            raise ModelError(f"the {self.backend} embeddings cannot pool sentences (late chunking)")
        return self.model.encode_late(texts, spans, batch_size=self.batch_size)

    def warm_up(self) -> None:
        """Run the model once, so the first question does not pay for lazy initialisation."""
        self.encode(["warm up"])
