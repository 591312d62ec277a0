"""One FastAPI app: REST API, source viewer, widget and the Gradio chat mounted at /."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from rag.app import Pipeline
from rag.errors import RagError
from rag.feedback import AnswerLog, open_answer_log
from rag.settings import Settings

from .access import AccessMiddleware, TokenSigner, make_signer, token_router
from .api import api_router, install_api_fallback, install_error_handlers
from .api_docs import install_docs
from .documents import documents_router
from .feedback import feedback_router
from .origins import OriginPolicy
from .pages import STATIC_PREFIX
from .rate_limit import ClientBudgets, RateLimitMiddleware, path_limits
from .request_limits import BodyLimitMiddleware, MediaTypeMiddleware
from .served import ServedAnswers
from .source_view import source_router
from .status import status_router
from .widget import widget_router

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Ask questions about the indexed news articles. Every answer sentence ends with [n], and "
    "every citation is a verbatim quote with its character span in the source document."
)


def keep_gradio_offline() -> None:
    """Gradio must never phone home (analytics, version checks, hub lookups)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def chat_theme() -> Any:
    """Gradio's Soft theme with a font shipped inside gradio (no web-font download)."""
    import gradio as gr

    font = gr.themes.LocalFont("IBM Plex Sans", weights=(400, 600))
    return gr.themes.Soft(
        primary_hue="indigo", font=[font, "ui-sans-serif", "system-ui", "sans-serif"]
    )


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_pages_allowed(host: str, settings: Settings) -> bool:
    """`rag serve`'s default: pages on this machine may embed the widget when the server listens
    on loopback only and RAG_ALLOWED_ORIGINS names no site."""
    return is_loopback(host) and not settings.allowed_origins


def create_app(
    pipeline: Pipeline,
    examples: list[str] | None = None,
    answer_log: AnswerLog | None = None,
    allow_local_pages: bool = False,
) -> FastAPI:
    """The whole web app over one pipeline; `examples` default to ones drawn from the index
    (and follow it as documents change); given, they stay fixed.

    `answer_log` defaults to the store the settings name; `allow_local_pages` lets pages served
    from this machine (http://localhost:*) call the API when RAG_ALLOWED_ORIGINS is empty.
    """
    keep_gradio_offline()
    import gradio as gr

    from .chat import CSS_FILE, build_chat
    from .examples import ExampleQuestions

    settings = pipeline.settings
    example_questions = ExampleQuestions(pipeline, examples)
    example_questions.current()  # worked out before the first visitor (then once per generation)
    answers = answer_log if answer_log is not None else open_answer_log(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        answers.close()  # write what is queued

    app = FastAPI(
        title="rag-news",
        description=DESCRIPTION,
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    origins = OriginPolicy(
        tuple(settings.allowed_origins), allow_local_pages and not settings.allowed_origins
    )
    signer = make_signer(settings.token_secret, settings.token_ttl_s)
    # One count per client: the middleware's, and the chat page's ratings (Gradio events).
    budgets = ClientBudgets(path_limits(settings), list(settings.trusted_proxies))
    install_guards(app, settings, signer, budgets, origins)
    install_error_handlers(app)
    install_docs(app, settings.public_url)
    served = ServedAnswers(pipeline, answers)
    app.include_router(api_router(pipeline, example_questions, served))
    app.include_router(feedback_router(pipeline, answers))
    app.include_router(token_router(signer, origins, settings.public_url))
    if settings.admin_token is not None:
        app.include_router(documents_router(pipeline))
    install_api_fallback(app)  # after every /api route
    app.include_router(status_router(pipeline))
    app.include_router(source_router(pipeline))
    app.include_router(widget_router(origins, settings.public_url))
    app.mount(STATIC_PREFIX, StaticFiles(directory=CSS_FILE.parent), name="ui-static")

    blocks = build_chat(pipeline, example_questions, served, budgets)
    blocks.queue(default_concurrency_limit=settings.concurrency)
    # Mounted last: routes above take precedence over Gradio's catch-all mount at "/".
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        footer_links=[],
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        theme=chat_theme(),
        css_paths=[CSS_FILE],
        # Gradio scopes css_paths to the app; rules for its own frame go in <head>. With API keys,
        # the open page also renews its token cookie (POST /api/token sets it).
        head=f'<link rel="stylesheet" href="{STATIC_PREFIX}/frame.css">'
        + (TOKEN_RENEWAL.format(every_ms=settings.token_ttl_s * 500) if settings.api_keys else ""),
    )


TOKEN_RENEWAL = (
    '<script>setInterval(function () {{ fetch("api/token", '
    '{{method: "POST", credentials: "same-origin"}}); }}, {every_ms});</script>'
)


def install_guards(
    app: FastAPI,
    settings: Settings,
    signer: TokenSigner,
    budgets: ClientBudgets,
    origins: OriginPolicy,
) -> None:
    """The request guards, outermost first: CORS (so that browsers let `origins` read every
    answer and refusal), the rate limit, the body limit, keys and tokens, media types. Each acts
    before a body is read."""
    app.add_middleware(MediaTypeMiddleware)
    app.add_middleware(
        AccessMiddleware,
        api_keys=list(settings.api_keys),
        admin_token=settings.admin_token,
        signer=signer,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_kb * 1024,
        upload_bytes=int(settings.max_file_mb * 1_000_000),
    )
    if budgets.limits:
        app.add_middleware(RateLimitMiddleware, budgets=budgets)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins.listed),
        allow_origin_regex=origins.origin_regex,
        allow_methods=["GET", "POST", "DELETE"],  # DELETE: a widget withdraws its rating
        allow_headers=["content-type", "authorization"],
        allow_credentials=False,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or a RagError that says why not (port taken, bad address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as err:
        raise RagError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
    sock.listen(128)
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    """The http:// address a browser on this machine should open."""
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in {"0.0.0.0", ""} else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}"


def make_server(app: FastAPI) -> Any:
    """A uvicorn server for `app` (run it with `.run(sockets=[...])`)."""
    import uvicorn

    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; the
    # rate limit reads it only from RAG_TRUSTED_PROXIES.
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
        proxy_headers=False,
    )
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_background(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `app` in a thread (port 0: any free port); yield its URL; stop it on exit."""
    sock = bind(host, port)
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RagError("the web server did not start")
        time.sleep(0.02)
    try:
        yield url_of(sock, host)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
