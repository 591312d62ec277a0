"""The source viewer: a whole document with one cited span highlighted and scrolled into view."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from rag.app import Pipeline

from .pages import STATIC_PREFIX, html_page
from .render import escape_plain


def parse_span(start: str | None, end: str | None, length: int) -> tuple[int, int] | None:
    """The span to highlight from the query string; None when absent; ValueError when wrong."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise ValueError("give both start and end, or neither")
    try:
        span = int(start), int(end)
    except ValueError:
        raise ValueError("start and end must be whole numbers") from None
    if not 0 <= span[0] <= span[1] <= length:
        raise ValueError(f"the span {span[0]}–{span[1]} is outside the document (0–{length})")
    return span


def document_html(text: str, span: tuple[int, int] | None) -> str:
    """The document text, escaped, with the span wrapped in <mark id="cite">."""
    if span is None:
        return escape_plain(text)
    start, end = span
    return (
        f'{escape_plain(text[:start])}<mark id="cite">{escape_plain(text[start:end])}</mark>'
        f"{escape_plain(text[end:])}"
    )


def error_page(status: int, message: str) -> HTMLResponse:
    """A friendly page for a bad link."""
    body = (
        f'<main class="narrow"><h1>Can’t show that source</h1><p>{escape_plain(message)}</p>'
        '<p><a href="/">Back to the chat</a></p></main>'
    )
    return html_page("Source not found", body, status=status)


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
    title = snapshot.documents[document].get("title") or document
    cited = (
        f'<p class="cited-note">Cited passage: characters {span[0]:,}–{span[1]:,}. '
        '<a href="#cite">Jump to it</a></p>'
        if span is not None
        else ""
    )
    body = (
        '<header class="source-header"><a class="back" href="/">← Back to the chat</a>'
        f"<h1>{escape_plain(title)}</h1>"
        f'<p class="source-name">{escape_plain(document)} · {len(text):,} characters</p>'
        f"{cited}</header>"
        f'<main class="document">{document_html(text, span)}</main>'
    )
    return html_page(title, body, scripts=(f"{STATIC_PREFIX}/source.js",))


def source_router(pipeline: Pipeline) -> APIRouter:
    """GET /source/<document>?start=..&end=.. (a stable deep link for every citation)."""
    router = APIRouter()

    @router.get("/source/{document:path}", response_class=HTMLResponse, include_in_schema=False)
    def show_source(
        document: str, start: str | None = None, end: str | None = None
    ) -> HTMLResponse:
        return source_page(pipeline, document, start, end)

    return router
