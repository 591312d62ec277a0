"""Late chunking: sentence vectors pooled from their chunk's pass (rag/embeddings/late.py)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.embeddings import load_embeddings
from rag.ingest.chunking import Chunk
from rag.ingest.embed_batches import late_vectors
from rag.ingest.sentences import sentence_spans
from tests.conftest import MakePipeline

TEXT = (
    "Secretary of State Marco Rubio cancelled his trip to London. "
    "Special envoy Steve Witkoff stayed in Washington. "
    "The talks went on without them, 😀 and ended on Wednesday."
)


@pytest.mark.parametrize("backend", ["int8", "fp32"])
def test_sentences_are_pooled_from_the_chunk_pass(backend: str) -> None:
    embeddings = load_embeddings("all-MiniLM-L6-v2", backend)
    spans = sentence_spans(TEXT)
    assert len(spans) == 3
    chunk_vectors, pooled = embeddings.encode_late([TEXT], [spans])
    # The chunk's own vector is the ordinary one.
    assert np.allclose(chunk_vectors[0], embeddings.encode([TEXT])[0], atol=1e-5)
    alone = embeddings.encode([TEXT[a:b] for a, b in spans])
    for vector, own in zip(pooled[0], alone, strict=True):
        assert vector is not None and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
        assert 0.6 < float(vector @ own) < 0.9999  # related, but read in its context
    # A question still finds the sentence that answers it.
    stacked = np.stack([v for v in pooled[0] if v is not None])
    questions = embeddings.encode(["Who stayed in Washington?", "When did the talks end?"])
    assert (np.argmax(questions @ stacked.T, axis=1) == [1, 2]).all()


def test_a_sentence_past_the_window_is_embedded_on_its_own() -> None:
    embeddings = load_embeddings("all-MiniLM-L6-v2", "fp32")  # int8 vectors vary with the batch
    filler = " ".join(["The harbour repairs went on through the night."] * 40)  # > 256 tokens
    text = f"{filler} Witkoff flew home on Friday."
    spans = [(0, 47), (len(filler) + 1, len(text))]
    _, pooled = embeddings.encode_late([text], [spans])
    assert pooled[0][0] is not None and pooled[0][1] is None
    offset = 100  # the chunk's place in its document: spans are document offsets
    sentences = [(a + offset, b + offset) for a, b in sentence_spans(text)]
    assert len(sentences) == 41
    chunks = [Chunk("long.txt", "Long", "", offset, offset + len(text), text, sentences)]
    chunk_vectors, sentence_vectors = late_vectors(embeddings, chunks)
    assert sentence_vectors.shape == (41, 384) and chunk_vectors.shape == (1, 384)
    last = embeddings.encode(["Witkoff flew home on Friday."])[0]
    assert np.allclose(sentence_vectors[-1], last, atol=1e-5)  # embedded alone, as before


@pytest.mark.slow
def test_late_chunking_is_recorded_and_a_switch_re_embeds(make_pipeline: MakePipeline) -> None:
    own = make_pipeline()
    assert own.ingest().added == 1
    assert own.store.require_snapshot().manifest["sentence_vectors"] == "own"
    late = make_pipeline(embed="chunks-late")
    summary = late.ingest()
    assert (summary.added, summary.unchanged) == (1, 0)
    snapshot = late.store.require_snapshot()
    assert snapshot.manifest["sentence_vectors"] == "late"
    assert snapshot.manifest["embed"] == "chunks-late"
    assert late.ingest().unchanged == 1
    answer = late.chain.invoke({"question": "Who is Steve Witkoff?"})
    assert "Witkoff" in answer.answer and not answer.refused
