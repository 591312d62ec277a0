"""/docs: the OpenAPI description as a page that needs no CDN (FastAPI's Swagger UI loads one)."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from .pages import page_response, public_base_url
from .render import escape_plain


def prose(text: str) -> Markup:
    """Escaped text in which `code` spans are shown as code."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escape_plain(text)))


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


def endpoint(schema: dict[str, Any], base_url: str, path: str, method: str) -> dict[str, Any]:
    """One endpoint: method, path, summary, description, responses and a curl line."""
    operation = schema["paths"][path][method]
    return {
        "method": method,
        "path": path,
        "summary": operation.get("summary", ""),
        "description": prose(operation.get("description", "")),
        "responses": [
            (status, prose(response.get("description", "")))
            for status, response in operation.get("responses", {}).items()
        ],
        "curl": curl_example(base_url, method, path, request_example(schema, operation)),
    }


def docs_page(app: FastAPI, base_url: str) -> HTMLResponse:
    """Every documented endpoint, with the machine-readable schema linked."""
    schema = app.openapi()
    return page_response(
        "api_docs.html",
        title=schema["info"]["title"],
        description=schema["info"].get("description", ""),
        endpoints=[
            endpoint(schema, base_url, path, method)
            for path, methods in schema["paths"].items()
            for method in methods
        ],
    )


def install_docs(app: FastAPI, public_url: str | None = None) -> None:
    """Serve the offline API page at /docs."""

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return docs_page(app, public_base_url(request, public_url))
