"""Wire the pieces together from Settings: store, retriever, chain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from rag.answer.chain import AnswerChain
from rag.answer.scorer import AnswerScorer
from rag.embeddings import load_embeddings
from rag.ingest.pipeline import IngestSummary, ProgressCallback, ingest, remove_documents
from rag.llm import load_chat_model
from rag.retrieval import HybridRetriever
from rag.settings import Settings
from rag.store import IndexStore, open_store


@runtime_checkable
class WarmsUp(Protocol):
    """A component with a light constructor whose heavy loading happens in `warm_up()`."""

    def warm_up(self) -> None: ...


@dataclass
class Pipeline:
    """Everything a front end needs, built once per process."""

    settings: Settings
    store: IndexStore
    retriever: HybridRetriever
    chain: AnswerChain

    def ingest(
        self,
        paths: list[Path] | None = None,
        reset: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestSummary:
        """Add or update the documents under `paths`; with none, bring the documents folder's
        documents in line with the folder (documents added by PATH from elsewhere stay)."""
        return ingest(
            self.store,
            self.settings.docs_dir,
            paths or None,
            chunk_chars=self.settings.chunk_chars,
            max_file_bytes=int(self.settings.max_file_mb * 1_000_000),
            reset=reset,
            progress=progress,
            embed=self.settings.embed,
        )

    def remove(self, names: list[str]) -> IngestSummary:
        """Remove the named documents added by PATH from outside the documents folder."""
        return remove_documents(self.store, self.settings.docs_dir, names)

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for: every component's
        `warm_up()` (the embedding model; a local LLM's weights)."""
        for component in (self.store.embeddings, self.chain.llm):
            if isinstance(component, WarmsUp):
                component.warm_up()

    def ensure_index(self) -> IngestSummary | None:
        """Ingest the documents folder when the index is empty."""
        return self.ingest() if self.store.is_empty() else None


def build_pipeline(settings: Settings) -> Pipeline:
    """Load the embedding model and open the index described by `settings`."""
    embeddings = load_embeddings(
        settings.embedding_model,
        settings.embedding_backend,
        settings.cache_dir,
        settings.embedding_batch_size,
        settings.embeddings_url,
        settings.embeddings_api_key.get_secret_value() if settings.embeddings_api_key else None,
    )
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    llm = load_chat_model(
        settings.llm,
        base_url=settings.llm_base_url,
        api_key=key,
        timeout_s=settings.llm_timeout_s,
        max_tokens=settings.llm_max_tokens,
    )
    store = open_store(
        settings.index_dir,
        embeddings,
        settings.collection,
        settings.chroma_url,
        settings.cache_dir,
    )
    retriever = HybridRetriever(store=store, k=settings.top_k)
    scorer = AnswerScorer.load() if settings.answer_scorer == "learned" else None
    threshold = settings.refusal_threshold
    if threshold is None and scorer is not None and settings.refusal_gate == "learned":
        # Its own; recorded in the settings reports show.
        threshold = scorer.threshold
        settings = settings.model_copy(update={"refusal_threshold": threshold})
    # Still None: the rules' threshold for the index's size, worked out per question.
    chain = AnswerChain(
        retriever,
        refusal_threshold=threshold,
        scorer=scorer,
        refusal_gate=settings.refusal_gate,
        max_sentences=settings.max_answer_sentences,
        max_question_chars=settings.max_question_chars,
        max_history_turns=settings.max_history_turns,
        max_history_chars=settings.max_history_chars,
        llm=llm,
        llm_name=settings.llm,
        llm_timeout_s=settings.llm_timeout_s,
        llm_total_s=settings.llm_total_s,
    )
    return Pipeline(settings, store, retriever, chain)
