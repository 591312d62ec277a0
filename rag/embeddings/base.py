"""The one interface every embedding backend meets, and its LangChain face."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings


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

    def warm_up(self) -> None:
        """Run the model once, so the first question does not pay for lazy initialisation."""
        self.encode(["warm up"])
