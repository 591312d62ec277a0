"""The question-answering chain: a LangChain Runnable from {"question", "history"} to Answer."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from rag.answer.extractive import cite, score_sentences, select_sentences
from rag.answer.followup import contextual_query, normalize_history
from rag.errors import BadInputError
from rag.models import REFUSAL, Answer, Citation, RetrievedChunk
from rag.retrieval import HybridRetriever

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_question(question: Any, max_chars: int) -> str:
    """Validate a user question: text, not blank, not too long; control characters blanked."""
    if not isinstance(question, str):
        raise BadInputError("the question must be text")
    question = " ".join(_CONTROL.sub(" ", question).split())
    if not question:
        raise BadInputError("the question is empty: type a question about the documents")
    if len(question) > max_chars:
        raise BadInputError(
            f"the question is too long ({len(question):,} characters; the limit is {max_chars:,})"
        )
    return question


class AnswerChain(Runnable[dict[str, Any], Answer]):
    """Retrieve, pick the answering sentences, cite them; refuse when the evidence is weak."""

    def __init__(
        self,
        retriever: HybridRetriever,
        refusal_threshold: float,
        max_sentences: int = 3,
        max_question_chars: int = 2000,
    ) -> None:
        self.retriever = retriever
        self.refusal_threshold = refusal_threshold
        self.max_sentences = max_sentences
        self.max_question_chars = max_question_chars

    def invoke(
        self, input: dict[str, Any] | str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        answer = Answer()
        for chunk in self.stream(input, config, **kwargs):
            answer = answer + chunk
        return answer

    def stream(
        self, input: dict[str, Any] | str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Answer]:
        """Yield the retrieval first, then the answer text word by word, then the citations."""
        started = time.perf_counter()
        payload = {"question": input} if isinstance(input, str) else dict(input)
        question = clean_question(payload.get("question"), self.max_question_chars)
        history = normalize_history(payload.get("history"))
        k = payload.get("k") or kwargs.get("k") or self.retriever.k
        query, context = contextual_query(question, history)
        retrieval = self.retriever.retrieve(query, k=int(k))
        retrieved_at = time.perf_counter()
        yield Answer(
            question=question,
            retrieved=[
                RetrievedChunk(
                    chunk_id=d.metadata["chunk_id"],
                    source=d.metadata["source"],
                    start=d.metadata["start"],
                    end=d.metadata["end"],
                    score=round(float(d.metadata["score"]), 6),
                )
                for d in retrieval.documents
            ],
        )
        text, citations = REFUSAL, list[Citation]()
        snapshot = retrieval.snapshot
        if snapshot is not None and retrieval.documents:
            kind, candidates = score_sentences(
                question, context, retrieval.query_vector, retrieval.documents, snapshot
            )
            extraction = select_sentences(
                kind, candidates, snapshot, self.refusal_threshold, self.max_sentences
            )
            if extraction.chosen:
                text, citations = cite(extraction.chosen, snapshot)
        answered_at = time.perf_counter()
        for piece in re.findall(r"\S+\s*", text):
            yield Answer(answer=piece)
        yield Answer(
            refused=not citations,
            citations=citations,
            timings_ms={
                "retrieve": round((retrieved_at - started) * 1000, 2),
                "answer": round((answered_at - retrieved_at) * 1000, 2),
                "total": round((time.perf_counter() - started) * 1000, 2),
            },
        )
