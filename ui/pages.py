"""The plain pages beside the chat: templates extending page.html, served with a strict CSP."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from rag.templating import template_environment

from .render import TEMPLATES, escape_plain

STATIC_PREFIX = "/ui-static"

# Our pages load only their own files: even a missed escape could not run a script.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)


@functools.cache
def page_templates() -> Environment:
    """The templates of the plain pages; their values are HTML-escaped."""
    return template_environment(TEMPLATES, escape_plain)


def page_response(
    template: str, status: int = 200, frame_ancestors: str = "'none'", **context: Any
) -> HTMLResponse:
    """A page rendered from templates/ (which extend page.html), with the security headers."""
    html = page_templates().get_template(template).render(static=STATIC_PREFIX, **context)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Security-Policy": f"{CSP}; frame-ancestors {frame_ancestors}",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def public_base_url(request: Request, public_url: str | None) -> str:
    """The address to show in snippets: RAG_PUBLIC_URL, else the address the server listens on.

    Never the Host header: a client sets it to anything, and it would be echoed into the page.
    """
    if public_url:
        return public_url.rstrip("/")
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    host = f"[{host}]" if ":" in str(host) else str(host)
    scheme = request.url.scheme
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + ("" if port in (None, default) else f":{port}")
