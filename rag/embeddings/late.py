"""Late chunking: sentence vectors pooled from their chunk's forward pass.

Günther et al. (2024), "Late Chunking: Contextual Chunk Embeddings Using Long-Context Embedding
Models". The model runs once on a chunk; a sentence's vector is the mean of the chunk's token
embeddings that fall inside the sentence's character span (the tokenizer's offset mapping), made
unit length. The chunk's own vector is the usual mean over all its tokens, so it is unchanged.

A chunk longer than the model's window (256 tokens for all-MiniLM-L6-v2) is truncated, as it is
for its chunk vector; a sentence that does not lie wholly inside the window gets `None`, and the
caller embeds it on its own as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

Span = tuple[int, int]
SpanVectors = list[np.ndarray | None]


@runtime_checkable
class LateEncoder(Protocol):
    """An encoder that can also pool sentence spans from its chunk's pass."""

    def encode_late(
        self, texts: list[str], spans: list[list[Span]], batch_size: int
    ) -> tuple[np.ndarray, list[SpanVectors]]: ...


def span_vectors(hidden: np.ndarray, encoding: Any, spans: Sequence[Span]) -> SpanVectors:
    """Unit mean of the token vectors inside each (start, end) character span of the text.

    `hidden` is one text's token embeddings (tokens x dim, padding beyond the encoding ignored);
    `encoding` is its `tokenizers.Encoding` (offsets, special-tokens mask, overflow).
    """
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    real = np.asarray(encoding.special_tokens_mask, dtype=bool) == 0
    covered = int(offsets[real, 1].max()) if real.any() else 0
    truncated = bool(encoding.overflowing)
    vectors: SpanVectors = []
    for start, end in spans:
        inside = real & (offsets[:, 1] > start) & (offsets[:, 0] < end)
        if not inside.any() or (truncated and end > covered):
            vectors.append(None)  # past the window (or no token): embedded on its own
            continue
        vector = hidden[: len(offsets)][inside].mean(axis=0)
        vectors.append((vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32))
    return vectors


def encode_late(
    tokenizer: Any,
    run: Callable[[np.ndarray, np.ndarray], np.ndarray],
    pool: Callable[[np.ndarray, np.ndarray], np.ndarray],
    texts: list[str],
    spans: list[list[Span]],
    batch_size: int,
) -> tuple[np.ndarray, list[SpanVectors]]:
    """(unit vector of each text, vectors of its spans) from one model pass per text.

    `tokenizer` is a truncating `tokenizers.Tokenizer` without padding; `run(ids, mask)` returns
    the token embeddings (batch x tokens x dim); `pool(hidden, mask)` the texts' unit vectors.
    """
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), []
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # batches of alike length
    vectors: list[np.ndarray] = [np.empty(0)] * len(texts)
    pooled: list[SpanVectors] = [[] for _ in texts]
    for first in range(0, len(order), batch_size):
        rows = order[first : first + batch_size]
        encodings = tokenizer.encode_batch([texts[i] for i in rows])
        ids, mask = padded(encodings)
        hidden = run(ids, mask)
        for j, (row, vector) in enumerate(zip(rows, pool(hidden, mask), strict=True)):
            vectors[row] = vector
            pooled[row] = span_vectors(hidden[j], encodings[j], spans[row])
    return np.stack(vectors), pooled


def padded(encodings: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and attention mask of `encodings`, padded to the longest."""
    width = max((len(e.ids) for e in encodings), default=0)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    return ids, mask
