"""Embeddings from a shared OpenAI-compatible `/v1/embeddings` server, through LangChain.

Text Embeddings Inference, vLLM, Ollama and llama.cpp's server all speak this protocol, so one
GPU box can embed for every machine that ingests or answers. LangChain's `OpenAIEmbeddings` is the
client, with `check_embedding_ctx_length=False`: raw text goes to the server (the server's own
tokenizer counts the tokens; nothing here would download tiktoken's tables).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
from pydantic import SecretStr

from rag.errors import EmbeddingServerError

log = logging.getLogger(__name__)

TIMEOUT_S = 60.0  # one request: up to `batch_size` texts
RETRIES = 2  # the OpenAI client's own retries on connection errors, 429 and 5xx, with backoff


class ServerEncoder:
    """The Encoder interface over an OpenAI-compatible embeddings server."""

    def __init__(self, url: str, model: str, api_key: str | None = None) -> None:
        try:
            from langchain_openai import OpenAIEmbeddings
        except ImportError as err:
            raise EmbeddingServerError(
                "RAG_EMBEDDINGS_URL needs langchain-openai: pip install 'rag-news[openai]'"
            ) from err
        self.url = url
        self.model = model
        self.dimension: int | None = None  # of the first answer; every later one must match
        self.client: Any = OpenAIEmbeddings(
            model=model,
            openai_api_base=url,
            openai_api_key=SecretStr(api_key or "not-needed"),  # local servers ignore it
            check_embedding_ctx_length=False,
            request_timeout=TIMEOUT_S,
            max_retries=RETRIES,
        )

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors for `texts` (normalised here: not every server normalises)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        try:
            rows = self.client.embed_documents(texts, chunk_size=batch_size)
        except Exception as err:
            raise EmbeddingServerError(f"{self.where()}: {describe(err)}") from err
        try:
            vectors = np.asarray(rows, dtype=np.float32)
        except ValueError:
            vectors = np.zeros((0, 0), dtype=np.float32)
        self.check(vectors, len(texts))
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def check(self, vectors: np.ndarray, count: int) -> None:
        """Refuse an answer with missing rows, ragged or empty vectors, or a changed dimension."""
        if vectors.ndim != 2 or vectors.shape[0] != count or vectors.shape[1] == 0:
            raise EmbeddingServerError(
                f"{self.where()} returned {len(vectors)} vectors of inconsistent or no "
                f"dimension for {count} texts"
            )
        dimension = int(vectors.shape[1])
        if self.dimension is None:
            self.dimension = dimension
        elif dimension != self.dimension:
            raise EmbeddingServerError(
                f"{self.where()} returned {dimension}-dimensional vectors, earlier "
                f"{self.dimension}-dimensional ones: did the server's model change?"
            )

    def where(self) -> str:
        return f"embedding server {self.url} (model {self.model!r})"


def describe(err: Exception) -> str:
    """One line for what went wrong talking to the server."""
    import openai

    if isinstance(err, openai.APITimeoutError):
        return f"no answer within {TIMEOUT_S:g} s"
    if isinstance(err, openai.APIConnectionError):
        return "not reachable (is it running, and is the URL right?)"
    if isinstance(err, openai.APIStatusError):
        detail = re.sub(r"^Error code: \d+ - ", "", " ".join(str(err.message).split()))
        return f"HTTP {err.status_code}: {detail[:200]}"
    return f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"
