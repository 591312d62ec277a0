"""Answers the server sends: the short answer checked against its span, then stored with an id."""

from __future__ import annotations

import logging

from rag.app import Pipeline
from rag.feedback import AnswerLog
from rag.models import Answer

log = logging.getLogger(__name__)


class ServedAnswers:
    """What every front end (API, stream, chat, /chat) does to an answer before sending it."""

    def __init__(self, pipeline: Pipeline, answer_log: AnswerLog | None) -> None:
        self.pipeline = pipeline
        self.log = answer_log

    def keep(self, answer: Answer, asked: str, history: list[dict[str, str]]) -> Answer:
        """`answer` (to `asked`, as typed) with an unverifiable short answer dropped and, when
        stored, its id."""
        snapshot = self.pipeline.store.snapshot()
        short = answer.short_answer
        if short is not None:
            known = snapshot is not None and short.source in snapshot.documents
            if not short.matches(
                snapshot.document_text(short.source) if snapshot and known else None
            ):
                log.warning("dropping a short answer that is not its span: %r", short.text)
                answer = answer.model_copy(update={"short_answer": None})
        if self.log is None:
            return answer
        generation = snapshot.generation if snapshot is not None else None
        try:
            answer_id = self.log.record(answer, history, generation, asked)
        except Exception:  # storing is a side job: the answer goes out regardless
            log.exception("could not queue the answer for storing")
            answer_id = None
        return answer.model_copy(update={"id": answer_id})
