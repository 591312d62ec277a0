"""LangChain's standard retriever suite against the hybrid retriever on a real index."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.embeddings import SentenceEmbeddings
from rag.retrieval import HybridRetriever
from tests.conftest import SEEDS


@pytest.fixture(scope="module", autouse=True)
def seed_store(tmp_path_factory: pytest.TempPathFactory, embeddings: SentenceEmbeddings) -> None:
    from rag.ingest.pipeline import ingest
    from rag.store import IndexStore

    base: Path = tmp_path_factory.mktemp("standard")
    shutil.copytree(SEEDS, base / "docs")
    store = IndexStore(base / "index", embeddings)
    ingest(store, base / "docs")
    TestHybridRetrieverStandard.store = store


class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    store: Any = None

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"store": self.store}

    @property
    def retriever_query_example(self) -> str:
        return "Why did the US officials leave the London talks?"


def test_hybrid_scores_are_in_metadata() -> None:
    docs = HybridRetriever(store=TestHybridRetrieverStandard.store, k=4).invoke(
        "Witkoff lining up support for a 30-day freeze"
    )
    assert len(docs) == 4
    assert "30-day freeze" in docs[0].page_content
    assert docs[0].metadata["lexical_score"] > 0 and docs[0].metadata["dense_score"] > 0.3
    assert [d.metadata["score"] for d in docs] == sorted(
        (d.metadata["score"] for d in docs), reverse=True
    )
