"""`rag serve`: the chat window, the HTTP API and the widget on one port."""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli.shared import (
    DocsDir,
    IndexDir,
    LlmOption,
    friendly_errors,
    load_settings,
    pipeline_for,
    say,
)


@friendly_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = 7860,
    llm: LlmOption = None,
    index_dir: IndexDir = None,
    docs: DocsDir = None,
) -> None:
    """Serve the chat window, the HTTP API and the embeddable widget."""
    from rag.web.server import bind, create_app, local_pages_allowed, make_server, url_of

    settings = load_settings(index_dir, docs, llm=llm)
    sock = bind(host, port)  # fail fast (port taken) before loading models
    pipeline = pipeline_for(settings)
    if pipeline.ensure_index() is not None:
        say(f"indexed {settings.docs_dir}", err=True)
    pipeline.warm_up()
    local_pages = local_pages_allowed(host, settings)
    server = make_server(create_app(pipeline, allow_local_pages=local_pages))
    url = url_of(sock, host)
    say(f"Chat: {url}/   API: {url}/docs   Embed: {url}/embed   (Ctrl-C to stop)")
    if local_pages:
        say(
            "Widget: pages on this machine (http://localhost:*) may embed it; "
            "other sites need RAG_ALLOWED_ORIGINS",
            err=True,
        )
    server.run(sockets=[sock])
    if server.should_exit:
        # Stopped by Ctrl-C: uvicorn handles the signal and re-raises it, but asyncio may then
        # finish its task normally instead of raising KeyboardInterrupt (a race), so say it here.
        raise typer.Exit(130)
