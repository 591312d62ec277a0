"""Feedback on served answers (POST /api/feedback) and their read-only share page (/a/<id>)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from rag.app import Pipeline
from rag.feedback import MAX_COMMENT_CHARS, AnswerLog, StoredAnswer
from rag.models import Answer

from .api import ErrorResponse, error_response
from .pages import page_response
from .render import render_answer


class FeedbackRequest(BaseModel):
    """A rating of one served answer, with an optional comment."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"answer_id": "Nj0KkS-gWF4m9wIw", "rating": "down", "comment": "Too vague"}
        }
    )

    answer_id: str = Field(description="The `id` of the answer (from /api/ask or the stream).")
    rating: Literal["up", "down"] = Field(description="'up' (👍) or 'down' (👎).")
    comment: str = Field("", max_length=MAX_COMMENT_CHARS, description="What was right or wrong.")


class FeedbackStored(BaseModel):
    """The feedback as stored (a later rating of the same answer replaces it)."""

    answer_id: str
    rating: Literal["up", "down"]
    comment: str


def stored_as_answer(stored: StoredAnswer) -> Answer:
    """A stored answer back as the chain's Answer (for rendering)."""
    return Answer(
        id=stored.id,
        question=stored.question,
        answer=stored.answer,
        refused=stored.refused,
        citations=stored.citations,
        short_answer=stored.short_answer,
        related=stored.related,
        notice=stored.notice,
    )


def unchanged_texts(pipeline: Pipeline, stored: StoredAnswer) -> dict[str, str]:
    """Current texts of the cited documents whose cited spans still read as stored."""
    snapshot = pipeline.store.snapshot()
    quoted = [*stored.citations, *stored.related]
    texts: dict[str, str] = {}
    for source in {c.source for c in quoted}:
        if snapshot is None or source not in snapshot.documents:
            continue
        text = snapshot.document_text(source)
        if all(text[c.start : c.end] == c.quote for c in quoted if c.source == source):
            texts[source] = text
    return texts


def share_page(pipeline: Pipeline, stored: StoredAnswer) -> HTMLResponse:
    """The answer as it was served: question, earlier turns, answer, grouped sources."""
    answer = stored_as_answer(stored)
    texts = unchanged_texts(pipeline, stored)
    when = datetime.fromisoformat(stored.created).strftime("%-d %B %Y, %H:%M UTC")
    return page_response(
        "answer.html",
        stored=stored,
        when=when,
        answer_html=render_answer(answer, texts, share=False),
        changed=len(texts) < len({c.source for c in [*stored.citations, *stored.related]}),
    )


def feedback_router(pipeline: Pipeline, answer_log: AnswerLog | None) -> APIRouter:
    """POST /api/feedback and GET /a/<id>."""
    router = APIRouter()

    @router.post(
        "/api/feedback",
        response_model=FeedbackStored,
        responses={
            404: {"model": ErrorResponse, "description": "No stored answer has this id."},
            422: {"model": ErrorResponse, "description": "Bad rating, or a comment too long."},
            429: {"model": ErrorResponse, "description": "Too much feedback from one client."},
            503: {"model": ErrorResponse, "description": "The answer store is off or busy."},
        },
        tags=["questions"],
        summary="Rate an answer",
    )
    def feedback(body: FeedbackRequest) -> JSONResponse:
        """👍 or 👎 on a served answer, with an optional comment (at most 2,000 characters)."""
        if answer_log is None:
            return error_response(503, "unavailable", "Answers are not stored on this server.")
        if not answer_log.rate(body.answer_id, body.rating, body.comment):
            return error_response(404, "not_found", "There is no stored answer with this id.")
        stored = FeedbackStored(
            answer_id=body.answer_id, rating=body.rating, comment=body.comment.strip()
        )
        return JSONResponse(stored.model_dump())

    @router.get("/a/{answer_id}", response_class=HTMLResponse, include_in_schema=False)
    def shared(answer_id: str) -> HTMLResponse:
        stored = answer_log.get(answer_id) if answer_log is not None else None
        if stored is None:
            return page_response(
                "not_found.html",
                status=404,
                heading="Can’t show that answer",
                message="There is no stored answer at this link. It may have expired.",
            )
        return share_page(pipeline, stored)

    return router
