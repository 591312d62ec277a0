"""The plain HTML pages beside the chat share one shell and a strict Content-Security-Policy."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from .render import escape_plain

STATIC_PREFIX = "/ui-static"

# Our pages load only their own files: even a missed escape could not run a script.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)


def html_page(
    title: str,
    body: str,
    status: int = 200,
    scripts: tuple[str, ...] = (),
    frame_ancestors: str = "'none'",
    body_class: str = "",
) -> HTMLResponse:
    """A whole page around `body` (already safe HTML); `title` is escaped here."""
    script_tags = "".join(f'<script src="{escape_plain(src)}" defer></script>' for src in scripts)
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape_plain(title)}</title>"
        f'<link rel="stylesheet" href="{STATIC_PREFIX}/page.css">{script_tags}</head>'
        f'<body class="{escape_plain(body_class)}">{body}</body></html>'
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Security-Policy": f"{CSP}; frame-ancestors {frame_ancestors}",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
