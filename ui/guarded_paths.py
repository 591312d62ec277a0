"""Which paths the request guards cover, by prefix, so that new routes are covered by default."""

from __future__ import annotations

API = "/api/"
GRADIO_API = "/gradio_api/"
WIDGET = "/widget"  # widget.js, widget.css and the /widget page

# Rate-limited: the JSON API, the Gradio API (the chat page's calls) and the widget.
RATE_LIMITED = (API, GRADIO_API, WIDGET)
# The chat page's events (Gradio's queue): over the rate limit they still reach their handlers,
# which say so in the chat (the page would show a 429 as its bare code, `rate_limited`).
GRADIO_QUEUE = ("/gradio_api/queue/join", "/gradio_api/queue/data")
# Rate-limited again, with a budget of its own (RAG_FEEDBACK_RATE_LIMIT): /api/feedback posts.
FEEDBACK = ("/api/feedback/",)
# Need a key when RAG_API_KEYS is set.
KEYED = (API, GRADIO_API)
# Issues the pages' short-lived tokens: reachable without one.
TOKEN_ROUTE = "/api/token"
# The operator's routes (RAG_ADMIN_TOKEN); the only ones that take file uploads.
DOCUMENTS = "/api/documents"
# Gradio routes that store uploaded files on disk: the chat has no upload control.
GRADIO_UPLOADS = ("/gradio_api/upload", "/gradio_api/process_recording")


def under(path: str, prefixes: tuple[str, ...]) -> bool:
    """True when `path` is one of `prefixes` or below it (a prefix "/api/" also covers "/api")."""
    return any(path.startswith(p) or path == p.rstrip("/") for p in prefixes)


def is_documents(path: str) -> bool:
    return path == DOCUMENTS or path.startswith(DOCUMENTS + "/")
