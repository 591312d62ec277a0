"""The answer chain passes its RunnableConfig on: callbacks see the chain, retriever and model."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.answer.chain import AnswerChain
from rag.app import Pipeline
from rag.models import Answer

QUESTION = "What was Witkoff lining up support for?"
ANSWER = "Witkoff was lining up support for a 30-day freeze in fighting [1]."


class Recorder(BaseCallbackHandler):
    """Every run start and end it is told about: (event, run id, parent run id, payload)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, UUID, UUID | None, Any]] = []

    def _add(self, event: str, payload: Any, run_id: UUID, parent_run_id: UUID | None) -> None:
        self.events.append((event, run_id, parent_run_id, payload))

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self._add("chain_start", inputs, run_id, kw.get("parent_run_id"))

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self._add("chain_end", outputs, run_id, kw.get("parent_run_id"))

    def on_retriever_start(self, serialized: Any, query: str, *, run_id: UUID, **kw: Any) -> None:
        self._add("retriever_start", query, run_id, kw.get("parent_run_id"))

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kw: Any) -> None:
        self._add("retriever_end", documents, run_id, kw.get("parent_run_id"))

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, **kw: Any
    ) -> None:
        self._add("chat_model_start", messages, run_id, kw.get("parent_run_id"))

    def on_llm_end(self, response: Any, *, run_id: UUID, **kw: Any) -> None:
        self._add("llm_end", response, run_id, kw.get("parent_run_id"))

    def of(self, event: str) -> list[tuple[str, UUID, UUID | None, Any]]:
        return [e for e in self.events if e[0] == event]


def generative_chain(seed_pipeline: Pipeline) -> AnswerChain:
    llm = GenericFakeChatModel(messages=iter([AIMessage(content=ANSWER)]))
    return AnswerChain(
        seed_pipeline.retriever,
        refusal_threshold=seed_pipeline.chain.refusal_threshold,
        llm=llm,
        llm_name="fake",
    )


def test_a_handler_sees_the_chain_the_retriever_and_the_model(seed_pipeline: Pipeline) -> None:
    recorder = Recorder()
    answer = generative_chain(seed_pipeline).invoke(
        {"question": QUESTION}, config={"callbacks": [recorder], "run_name": "ask"}
    )
    assert answer.citations and not answer.notice

    [(_, chain_run, chain_parent, inputs)] = recorder.of("chain_start")
    assert chain_parent is None and inputs["question"] == QUESTION
    [(_, end_run, _, output)] = recorder.of("chain_end")
    assert end_run == chain_run and isinstance(output, Answer)
    assert output.answer == answer.answer and output.citations == answer.citations

    [(_, retriever_run, retriever_parent, query)] = recorder.of("retriever_start")
    assert retriever_parent == chain_run and query == QUESTION
    [(_, _, _, documents)] = recorder.of("retriever_end")
    assert [d.metadata["chunk_id"] for d in documents] == [r.chunk_id for r in answer.retrieved]

    [(_, model_run, model_parent, messages)] = recorder.of("chat_model_start")
    assert model_parent == chain_run and model_run != retriever_run
    assert QUESTION in str(messages[0][-1].content)
    [(_, llm_end_run, _, response)] = recorder.of("llm_end")
    assert llm_end_run == model_run and response.generations[0][0].text == ANSWER


def test_extractive_answers_report_the_chain_and_retriever_only(seed_pipeline: Pipeline) -> None:
    recorder = Recorder()
    seed_pipeline.chain.invoke({"question": QUESTION}, config={"callbacks": [recorder]})
    assert [e[0] for e in recorder.events] == [
        "chain_start",
        "retriever_start",
        "retriever_end",
        "chain_end",
    ]


def test_streaming_with_callbacks_yields_the_same_chunks(seed_pipeline: Pipeline) -> None:
    def without_timings(chunks: list[Answer]) -> list[Answer]:
        return [c.model_copy(update={"timings_ms": {}, "llm": {}}) for c in chunks]

    plain = list(generative_chain(seed_pipeline).stream({"question": QUESTION}))
    recorder = Recorder()
    traced = list(
        generative_chain(seed_pipeline).stream(
            {"question": QUESTION}, config={"callbacks": [recorder]}
        )
    )
    assert len(plain) > 5 and without_timings(traced) == without_timings(plain)
    assert recorder.of("chain_end") and recorder.of("llm_end")
