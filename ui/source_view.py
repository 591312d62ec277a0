"""The source viewer: a whole document with one cited span highlighted and scrolled into view."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from rag.app import Pipeline

from .pages import page_response


def parse_span(start: str | None, end: str | None, length: int) -> tuple[int, int] | None:
    """The span to highlight from the query string; None when absent; ValueError when wrong."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ValueError("give both start and end, or neither")
    try:
        span = int(start), int(end)
    except ValueError as err:
        raise ValueError("start and end must be whole numbers") from err
    if not 0 <= span[0] <= span[1] <= length:
        raise ValueError(f"the span {span[0]}–{span[1]} is outside the document (0–{length})")
    return span


def error_page(status: int, message: str) -> HTMLResponse:
    """A friendly page for a bad link."""
    return page_response(
        "not_found.html", status=status, heading="Can’t show that source", message=message
    )


def source_page(
    pipeline: Pipeline, document: str, start: str | None, end: str | None
) -> HTMLResponse:
    """The viewer page for one document of the current index."""
    snapshot = pipeline.store.snapshot()
    if snapshot is None or document not in snapshot.documents:
        return error_page(404, f"There is no indexed document called “{document}”.")
    text = snapshot.document_text(document)
    try:
        span = parse_span(start, end, len(text))
    except ValueError as err:
        return error_page(400, f"This link points to no passage: {err}.")
    first, last = span if span is not None else (len(text), len(text))
    return page_response(
        "source.html",
        title=snapshot.documents[document].get("title") or document,
        document=document,
        length=f"{len(text):,}",
        span_start=f"{first:,}",
        span_end=f"{last:,}",
        before=text[:first],
        cited=text[first:last] if span is not None else None,
        after=text[last:],
    )


def source_router(pipeline: Pipeline) -> APIRouter:
    """GET /source/<document>?start=..&end=.. (a stable deep link for every citation)."""
    router = APIRouter()

    @router.get("/source/{document:path}", response_class=HTMLResponse, include_in_schema=False)
    def show_source(
        document: str, start: str | None = None, end: str | None = None
    ) -> HTMLResponse:
        return source_page(pipeline, document, start, end)

    return router
