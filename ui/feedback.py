"""Feedback on served answers (POST and DELETE /api/feedback) and their share page (/a/<id>)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Path
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


class FeedbackWithdrawn(BaseModel):
    """The answer has no feedback now (the answer itself stays stored)."""

    answer_id: str
    rating: None = Field(None, description="Always null: no rating is stored.")


NO_STORE = "Answers are not stored on this server."
NOT_FOUND = "There is no stored answer with this id."
STORE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No stored answer has this id."},
    429: {"model": ErrorResponse, "description": "Too many requests from one client."},
    503: {"model": ErrorResponse, "description": "The answer store is off or busy."},
}


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
    """POST /api/feedback, DELETE /api/feedback/<id> and GET /a/<id>."""
    router = APIRouter()

    @router.post(
        "/api/feedback",
        response_model=FeedbackStored,
        responses={
            **STORE_ERRORS,
            422: {"model": ErrorResponse, "description": "Bad rating, or a comment too long."},
            429: {"model": ErrorResponse, "description": "Too much feedback from one client."},
        },
        tags=["questions"],
        summary="Rate an answer",
    )
    def feedback(body: FeedbackRequest) -> JSONResponse:
        """👍 or 👎 on a served answer, with an optional comment (at most 2,000 characters)."""
        if answer_log is None:
            return error_response(503, "unavailable", NO_STORE)
        if not answer_log.rate(body.answer_id, body.rating, body.comment):
            return error_response(404, "not_found", NOT_FOUND)
        stored = FeedbackStored(
            answer_id=body.answer_id, rating=body.rating, comment=body.comment.strip()
        )
        return JSONResponse(stored.model_dump())

    @router.delete(
        "/api/feedback/{answer_id}",
        response_model=FeedbackWithdrawn,
        responses=STORE_ERRORS,
        tags=["questions"],
        summary="Withdraw a rating",
    )
    def withdraw(
        answer_id: str = Path(description="The `id` of the rated answer."),
    ) -> JSONResponse:
        """Delete the rating of a served answer and its comment (the answer stays stored);
        also 200 when it had none. Not counted in the feedback budget: it adds nothing."""
        if answer_log is None:
            return error_response(503, "unavailable", NO_STORE)
        if not answer_log.withdraw(answer_id):
            return error_response(404, "not_found", NOT_FOUND)
        return JSONResponse(FeedbackWithdrawn(answer_id=answer_id).model_dump())

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
