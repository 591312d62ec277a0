"""/docs: the OpenAPI description as a page that needs no CDN (FastAPI's Swagger UI loads one)."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from .pages import html_page
from .render import escape_plain


def prose(text: str) -> str:
    """Escaped text in which `code` spans are shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape_plain(text))


def curl_example(base_url: str, method: str, path: str, body: Any | None) -> str:
    """A copyable curl command for one endpoint."""
    parts = [f"curl -s{'N' if path.endswith('/stream') else ''}"]
    if method != "get":
        parts.append(f"-X {method.upper()}")
    parts.append(f"{base_url}{path}")
    if body is not None:
        parts += ["-H 'content-type: application/json'", f"-d '{json.dumps(body)}'"]
    return " ".join(parts)


def request_example(schema: dict[str, Any], operation: dict[str, Any]) -> Any | None:
    """The example body of an operation's JSON request, if it takes one."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return None
    ref = content.get("schema", {}).get("$ref", "")
    component = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    return component.get("example", {})


def endpoint_html(schema: dict[str, Any], base_url: str, path: str, method: str) -> str:
    """One endpoint: method, path, summary, description, responses and a curl line."""
    operation = schema["paths"][path][method]
    responses = "".join(
        f"<tr><td>{escape_plain(code)}</td><td>{prose(r.get('description', ''))}</td></tr>"
        for code, r in operation.get("responses", {}).items()
    )
    curl = curl_example(base_url, method, path, request_example(schema, operation))
    return (
        f'<section class="endpoint"><h2><span class="method {method}">{method.upper()}</span>'
        f"<code>{escape_plain(path)}</code> <span class='muted'>"
        f"{escape_plain(operation.get('summary', ''))}</span></h2>"
        f"<p>{prose(operation.get('description', ''))}</p>"
        f"<table><tr><th>Status</th><th>Meaning</th></tr>{responses}</table>"
        f"<pre><code>{escape_plain(curl)}</code></pre></section>"
    )


def docs_page(app: FastAPI, base_url: str) -> HTMLResponse:
    """Every documented endpoint, with the machine-readable schema linked."""
    schema = app.openapi()
    sections = "".join(
        endpoint_html(schema, base_url, path, method)
        for path, methods in schema["paths"].items()
        for method in methods
    )
    body = (
        '<main class="wide"><p><a class="back" href="/">← Back to the chat</a></p>'
        f"<h1>{escape_plain(schema['info']['title'])} HTTP API</h1>"
        f"<p>{escape_plain(schema['info'].get('description', ''))}</p>"
        '<p>Machine-readable: <a href="/openapi.json">OpenAPI schema (openapi.json)</a>. '
        "Errors are JSON: <code>{&quot;error&quot;: kind, &quot;message&quot;: sentence}</code>."
        f"</p>{sections}</main>"
    )
    return html_page("HTTP API", body)


def install_docs(app: FastAPI) -> None:
    """Serve the offline API page at /docs."""

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return docs_page(app, str(request.base_url).rstrip("/"))
