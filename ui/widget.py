"""The embeddable widget: its script, the iframe page and the page that shows the snippets."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from .pages import html_page
from .render import escape_plain

EMBED_DIR = Path(__file__).parent / "embed"


def script_snippet(base_url: str) -> str:
    """The one line a host page adds for a floating chat button."""
    return f'<script src="{base_url}/widget.js" data-title="Ask the news" async></script>'


def iframe_snippet(base_url: str) -> str:
    """The same chat in an iframe, for pages that won't run third-party scripts."""
    return (
        f'<iframe src="{base_url}/widget" title="Ask the news" '
        'style="width:400px;height:600px;border:0;border-radius:16px"></iframe>'
    )


def base_url_of(request: Request) -> str:
    """The URL this app is reached at, as the browser sees it."""
    return str(request.base_url).rstrip("/")


def embed_page(base_url: str, allowed_origins: list[str]) -> HTMLResponse:
    """Instructions with copyable snippets, plus the widget itself live on the page."""
    origins = (
        ", ".join(f"<code>{escape_plain(o)}</code>" for o in allowed_origins)
        if allowed_origins
        else "none yet"
    )
    body = (
        '<main class="wide"><p><a class="back" href="/">← Back to the chat</a></p>'
        "<h1>Embed the chat on your site</h1>"
        "<p>Add this one line to any page: a chat button appears in the bottom-right corner. "
        "Answers stream in and every <code>[n]</code> links back to the passage it quotes. "
        "Nothing loads from anywhere but this server.</p>"
        f"<pre><code>{escape_plain(script_snippet(base_url))}</code></pre>"
        "<p class='muted'>Options: <code>data-title</code>, <code>data-placeholder</code>, "
        '<code>data-open="true"</code> (start open), <code>data-target="#id"</code> '
        '(render inside that element), <code>data-examples="false"</code>.</p>'
        "<h2>Or as an iframe</h2>"
        f"<pre><code>{escape_plain(iframe_snippet(base_url))}</code></pre>"
        "<h2>Allowed sites</h2>"
        "<p>Browsers let another site call this server only if its origin is in "
        f"<code>RAG_ALLOWED_ORIGINS</code> (comma-separated). Allowed now: {origins}.</p>"
        "<p>Try it: the button in the corner of this page is the widget.</p></main>"
        f'<script src="{escape_plain(base_url)}/widget.js" data-title="Ask the news"></script>'
    )
    return html_page("Embed the chat", body)


def widget_router(allowed_origins: list[str]) -> APIRouter:
    """/widget.js, /widget.css, /widget (iframe) and /embed (snippets)."""
    router = APIRouter(include_in_schema=False)
    # Only the allow-listed sites may frame the widget page.
    ancestors = " ".join(["'self'", *allowed_origins])

    @router.get("/widget.js")
    def widget_script() -> FileResponse:
        return FileResponse(
            EMBED_DIR / "widget.js",
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache"},
        )

    @router.get("/widget.css")
    def widget_style() -> FileResponse:
        return FileResponse(
            EMBED_DIR / "widget.css", media_type="text/css", headers={"Cache-Control": "no-cache"}
        )

    @router.get("/widget", response_class=HTMLResponse)
    def widget_frame() -> HTMLResponse:
        body = (
            '<div id="rag-widget"></div>'
            '<script src="/widget.js" data-target="#rag-widget" data-title="Ask the news"></script>'
        )
        return html_page("Ask the news", body, frame_ancestors=ancestors, body_class="widget-frame")

    @router.get("/embed", response_class=HTMLResponse)
    def embed(request: Request) -> HTMLResponse:
        return embed_page(base_url_of(request), allowed_origins)

    return router
