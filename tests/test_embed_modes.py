"""What goes through the embedding model at ingest (`RAG_EMBED`, rag/ingest/embed_batches.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rag.embeddings import load_embeddings
from rag.ingest.chunking import Chunk
from rag.ingest.embed_batches import EmbeddingBatcher, pooled_chunk_vectors
from rag.ingest.sentences import sentence_spans
from tests.conftest import MakePipeline

TEXT = (
    "Secretary of State Marco Rubio cancelled his trip to London. "
    "Special envoy Steve Witkoff stayed in Washington. "
    "The talks went on without them and ended on Wednesday."
)


def chunk_of(text: str, offset: int = 0) -> Chunk:
    spans = [(a + offset, b + offset) for a, b in sentence_spans(text)]
    return Chunk("talks.txt", "Talks", "", offset, offset + len(text), text, spans)


def test_a_chunk_vector_is_the_length_weighted_mean_of_its_sentences() -> None:
    embeddings = load_embeddings("all-MiniLM-L6-v2", "int8")
    chunks = [chunk_of(TEXT, offset=40), chunk_of("Witkoff flew home on Friday.", offset=400)]
    sentences = [
        s for c in chunks for s in (c.text[a - c.start : b - c.start] for a, b in c.sentences)
    ]
    assert len(sentences) == 4
    vectors = embeddings.encode(sentences)
    pooled = pooled_chunk_vectors(chunks, vectors)
    lengths = np.array([len(s) for s in sentences[:3]], dtype=np.float32)
    expected = lengths @ vectors[:3]
    assert np.allclose(pooled[0], expected / np.linalg.norm(expected), atol=1e-6)
    assert np.allclose(pooled[1], vectors[3], atol=1e-6)  # one sentence: its own vector
    # Close to what the model makes of the whole chunk, which is what retrieval compares.
    assert float(pooled[0] @ embeddings.encode([TEXT])[0]) > 0.85


class Recording:
    """The real embeddings, remembering every text sent through the model."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts += texts
        return np.asarray(self.inner.encode(texts))


class Rows:
    def __init__(self) -> None:
        self.vectors: dict[str, np.ndarray] = {}

    def add(self, ids: list[str], embeddings: Any, **_: Any) -> None:
        self.vectors.update(zip(ids, np.asarray(embeddings), strict=True))


@pytest.mark.parametrize(
    ("embed", "through_model"),
    [("sentences", 3), ("chunks-and-sentences", 4)],
)
def test_what_goes_through_the_model(embed: str, through_model: int) -> None:
    recording = Recording(load_embeddings("all-MiniLM-L6-v2", "int8"))
    chunk_rows, sentence_rows = Rows(), Rows()
    batcher = EmbeddingBatcher(recording, chunk_rows, sentence_rows, embed=embed)
    chunk = chunk_of(TEXT)
    batcher.add([chunk])
    batcher.flush()
    assert len(recording.texts) == through_model
    assert (TEXT in recording.texts) == (embed == "chunks-and-sentences")
    assert len(sentence_rows.vectors) == 3 and len(chunk_rows.vectors) == 1
    chunk_vector = chunk_rows.vectors[chunk.chunk_id]
    assert abs(float(np.linalg.norm(chunk_vector)) - 1) < 1e-5


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="embed must be one of"):
        EmbeddingBatcher(None, Rows(), Rows(), embed="chunks")


@pytest.mark.slow
def test_the_mode_is_recorded_and_a_switch_re_embeds(make_pipeline: MakePipeline) -> None:
    default = make_pipeline()
    assert default.ingest().added == 1
    assert default.store.require_snapshot().manifest["embed"] == "chunks-and-sentences"
    pooled = make_pipeline(embed="sentences")
    summary = pooled.ingest()
    assert (summary.added, summary.unchanged) == (1, 0)
    assert pooled.store.require_snapshot().manifest["embed"] == "sentences"
    assert pooled.ingest().unchanged == 1
    answer = pooled.chain.invoke({"question": "Who is Steve Witkoff?"})
    assert "Witkoff" in answer.answer and not answer.refused
