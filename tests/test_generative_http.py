"""The generative path against a real OpenAI-compatible server streaming scripted replies over HTTP.

`RAG_LLM=openai:<model>` with `RAG_LLM_BASE_URL` pointing at tests/openai_replay.py: the product's
own client (LangChain's ChatOpenAI) streams each reply over real HTTP, and every citation it makes
goes through the same checks as in production.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rag.app import Pipeline
from rag.models import FALLBACK_NOTICE, REFUSAL, Answer
from tests.conftest import MakePipeline
from tests.openai_replay import ReplayServer

QUESTION = "What was Witkoff lining up support for?"


@pytest.fixture
def served(make_pipeline: MakePipeline) -> Iterator[tuple[ReplayServer, Pipeline]]:
    """A replay server (script set per test) and a pipeline whose model is that server."""
    with ReplayServer([""]) as server:
        pipeline = make_pipeline(
            llm="openai:replay", llm_base_url=server.base_url, llm_timeout_s=10.0
        )
        pipeline.ingest()
        yield server, pipeline


def passage_of(pipeline: Pipeline, phrase: str) -> int:
    """The number the prompt gives the passage holding `phrase`."""
    documents = pipeline.retriever.retrieve(QUESTION).documents[:5]
    return next(n for n, d in enumerate(documents, 1) if phrase in d.page_content)


def ask(server: ReplayServer, pipeline: Pipeline, reply: str) -> tuple[Answer, list[Answer]]:
    server.replies = [reply]
    chunks = list(pipeline.chain.stream({"question": QUESTION}))
    total = Answer()
    for chunk in chunks:
        total = total + chunk
    assert server.requests[-1]["stream"] is True  # it streamed over HTTP
    return total, chunks


def test_a_faithful_paraphrase_keeps_every_sentence(
    served: tuple[ReplayServer, Pipeline],
) -> None:
    server, pipeline = served
    n = passage_of(pipeline, "30-day freeze")
    reply = f"Witkoff spent days lining up support for a 30-day freeze in the fighting [{n}]."
    answer, chunks = ask(server, pipeline, reply)
    assert answer.answer == reply.replace(f"[{n}]", "[1]")
    assert len([c for c in chunks if c.answer]) > 5  # word by word, as the server sent it
    assert not answer.refused and not answer.notice
    assert answer.llm["citations_removed"] == 0 and answer.llm["sentences_unsupported"] == 0
    (citation,) = answer.citations
    text = pipeline.store.require_snapshot().document_text(citation.source)
    assert citation.quote == text[citation.start : citation.end]
    assert "30-day freeze" in citation.quote


def test_a_fluent_unsupported_sentence_is_removed(served: tuple[ReplayServer, Pipeline]) -> None:
    server, pipeline = served
    n = passage_of(pipeline, "30-day freeze")
    answer, _ = ask(
        server,
        pipeline,
        f"Witkoff was lining up support for a 30-day freeze in fighting [{n}]. "
        f"The talks will resume in Geneva next month under Chinese mediation [{n}].",
    )
    assert "Geneva" not in answer.answer
    assert answer.answer.startswith("Witkoff was lining up support") and answer.citations
    assert answer.llm["sentences_unsupported"] == 1


@pytest.mark.parametrize(
    "reply",
    [
        "The documents don't answer this.",
        "I'm sorry, but the passages do not mention what he was lining up support for.",
    ],
)
def test_a_model_that_finds_no_answer_gives_the_refusal(
    served: tuple[ReplayServer, Pipeline], reply: str
) -> None:
    server, pipeline = served
    answer, _ = ask(server, pipeline, reply)
    assert answer.refused and answer.answer == REFUSAL and answer.citations == []
    assert answer.notice != FALLBACK_NOTICE and answer.llm["declined"] is True
    assert answer.retrieved
    # What the extractive answer would have quoted is listed as related, each its source slice.
    snapshot = pipeline.store.require_snapshot()
    assert answer.related
    for passage in answer.related:
        assert passage.quote == snapshot.document_text(passage.source)[passage.start : passage.end]


def test_a_reply_with_nothing_grounded_still_falls_back(
    served: tuple[ReplayServer, Pipeline],
) -> None:
    server, pipeline = served
    answer, _ = ask(server, pipeline, "Bananas are an excellent source of potassium [1].")
    assert not answer.refused and answer.notice == FALLBACK_NOTICE and answer.citations


def test_the_model_reads_the_top_five_passages(served: tuple[ReplayServer, Pipeline]) -> None:
    server, pipeline = served
    ask(server, pipeline, "The documents don't answer this.")
    prompt = server.last_prompt()
    retrieved = pipeline.retriever.retrieve(QUESTION).documents
    assert len(retrieved) >= 5
    assert prompt.count("<passage id=") == 5
    for document in retrieved[:5]:
        assert document.page_content in prompt
