"""The embeddable widget: its script, the iframe page and the page that shows the snippets."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from .origins import OriginPolicy
from .pages import page_response, page_templates, public_base_url

EMBED_DIR = Path(__file__).parent / "embed"


def script_snippet(base_url: str) -> str:
    """The one line a host page adds for a floating chat button."""
    return _snippet("script", base_url)


def iframe_snippet(base_url: str) -> str:
    """The same chat in an iframe, for pages that won't run third-party scripts."""
    return _snippet("iframe", base_url)


def _snippet(macro: str, base_url: str) -> str:
    render = getattr(page_templates().get_template("snippets.html").module, macro)
    return str(render(base_url))  # plain text: the embed page shows it as code


def embed_page(base_url: str, origins: OriginPolicy) -> HTMLResponse:
    """Instructions with copyable snippets, plus the widget itself live on the page."""
    return page_response(
        "embed.html",
        base_url=base_url,
        script_snippet=script_snippet(base_url),
        iframe_snippet=iframe_snippet(base_url),
        origins=origins,
    )


def widget_router(origins: OriginPolicy, public_url: str | None = None) -> APIRouter:
    """/widget.js, /widget.css, /widget (iframe) and /embed (snippets)."""
    router = APIRouter(include_in_schema=False)
    # Only the allowed sites may frame the widget page.
    ancestors = " ".join(["'self'", *origins.frame_ancestors()])

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
        return page_response("widget_frame.html", frame_ancestors=ancestors)

    @router.get("/embed", response_class=HTMLResponse)
    def embed(request: Request) -> HTMLResponse:
        return embed_page(public_base_url(request, public_url), origins)

    return router
