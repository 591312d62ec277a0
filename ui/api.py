"""JSON REST API: ask, ask with server-sent events, health, example questions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from rag.app import Pipeline
from rag.errors import BadInputError, RagError
from rag.models import Answer

from .examples import ExampleQuestions
from .served import ServedAnswers

log = logging.getLogger(__name__)

EXAMPLE_QUESTION = "Who is Steve Witkoff?"


class Message(BaseModel):
    """One earlier turn of the conversation (OpenAI style)."""

    role: Literal["user", "assistant"] = Field(
        description="Who said it: 'user' or 'assistant' (no 'system' turns).", examples=["user"]
    )
    content: str = Field(description="What was said.")


class AskRequest(BaseModel):
    """A question, optionally following earlier turns of a conversation."""

    model_config = ConfigDict(json_schema_extra={"example": {"question": EXAMPLE_QUESTION}})

    question: str = Field(description="The question, in plain text.")
    history: list[Message] | None = Field(
        default=None,
        description="Earlier turns, oldest first, for follow-up questions (null or absent: none).",
    )


# Every `error` the API answers with (the README lists each with its status).
ErrorKind = Literal[
    "bad_request",
    "malformed_json",
    "invalid_request",
    "bad_input",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "too_large",
    "unsupported_media_type",
    "rate_limited",
    "unavailable",
]


class ErrorResponse(BaseModel):
    """What every 4xx/5xx of the API carries."""

    error: ErrorKind = Field(description="Machine-readable kind (see the README's list).")
    message: str = Field(description="One sentence for a person.")


class Health(BaseModel):
    """Whether an index is loaded, and how big it is."""

    status: str = Field(description="'ok', or 'no_index' when nothing is indexed yet.")
    index_loaded: bool
    documents: int
    chunks: int
    embedding_model: str


class Examples(BaseModel):
    """Questions the indexed documents answer, and how long a question may be."""

    examples: list[str]
    max_question_chars: int = Field(
        description="Longest question /api/ask accepts, in characters (RAG_MAX_QUESTION_CHARS)."
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not valid JSON."},
    422: {"model": ErrorResponse, "description": "Empty, too long or badly typed input."},
}
# The stream's errors are JSON too, not events ("model" would document them as the route's type).
STREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": info["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    for status, info in ERRORS.items()
}


HTTP_KINDS: dict[int, ErrorKind] = {
    400: "bad_request",  # e.g. Starlette's "Invalid multipart data."
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(status: int, kind: ErrorKind, message: str) -> JSONResponse:
    """The API's one error shape."""
    return JSONResponse(status_code=status, content={"error": kind, "message": message})


def describe_validation_error(err: RequestValidationError) -> tuple[int, ErrorKind, str]:
    """(status, kind, message) for a request FastAPI could not parse or validate."""
    first = err.errors()[0] if err.errors() else {}
    if first.get("type") == "json_invalid":
        return 400, "malformed_json", "The request body is not valid JSON."
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    if not where:  # the body as a whole: missing, or not an object
        return 400, "malformed_json", 'Send a JSON object such as {"question": "..."}.'
    reason = first.get("msg", "invalid value")
    return 422, "invalid_request", f"{where or 'body'}: {reason}"


def install_error_handlers(app: FastAPI) -> None:
    """Turn bad input into a 4xx JSON error and anything else into a 500 without a traceback."""

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        return error_response(*describe_validation_error(err))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, err: StarletteHTTPException) -> Response:
        if err.status_code == 400 and "parsing the body" in str(err.detail):
            # FastAPI's own reply to an undecodable body (e.g. not UTF-8): keep the API's shape
            return error_response(400, "malformed_json", "The request body is not valid JSON.")
        if request.url.path.startswith("/api/"):  # every API error has the one shape
            kind = HTTP_KINDS.get(
                err.status_code, "bad_request" if err.status_code < 500 else "unavailable"
            )
            response = error_response(err.status_code, kind, str(err.detail))
            response.headers.update(err.headers or {})
            return response
        return await http_exception_handler(request, err)

    @app.exception_handler(BadInputError)
    async def on_bad_input(request: Request, err: BadInputError) -> JSONResponse:
        message = str(err)
        return error_response(422, "bad_input", message[:1].upper() + message[1:])

    @app.exception_handler(RagError)
    async def on_rag_error(request: Request, err: RagError) -> JSONResponse:
        return error_response(503, "unavailable", str(err))


def install_api_fallback(app: FastAPI) -> None:
    """Unknown paths and methods under /api answer in the API's shape (404 / 405), not Gradio's.

    Registered after every /api route: Gradio's catch-all mount at "/" would take them otherwise.
    """

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.api_route("/api/{rest:path}", methods=methods, include_in_schema=False)
    def api_fallback(request: Request, rest: str) -> JSONResponse:
        others = [r for r in app.router.routes if getattr(r, "endpoint", None) is not api_fallback]
        allowed = [
            method
            for method in methods
            if any(
                route.matches({**request.scope, "method": method})[0] == Match.FULL
                for route in others
                if not isinstance(route, Mount)  # Gradio's mount at "/" matches anything
            )
        ]
        if allowed:
            response = error_response(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; use {', '.join(allowed)}.",
            )
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return error_response(404, "not_found", f"There is no API endpoint {request.url.path}.")


def answer_events(
    first: Answer, rest: Iterator[Answer], finish: Callable[[Answer], Answer] = lambda a: a
) -> Iterator[ServerSentEvent]:
    """start (question, retrieved) → delta (answer text) … → done (the whole answer object).

    `reset` means: forget the text so far (the chain replaces a failed generated answer);
    `finish` turns the whole answer into the one sent (e.g. stored, with its id).
    """
    answer = first
    yield ServerSentEvent(
        event="start", data=first.model_dump(mode="json", include={"question", "retrieved"})
    )
    try:
        for chunk in rest:
            answer = answer + chunk
            if getattr(chunk, "reset", False):
                yield ServerSentEvent(event="reset", data={})
            if chunk.answer:
                yield ServerSentEvent(event="delta", data={"text": chunk.answer})
    except Exception:  # headers are sent: report in-band, never a traceback
        log.exception("streaming the answer to %r failed", first.question)
        yield ServerSentEvent(
            event="error", data={"error": "internal", "message": "Answering failed."}
        )
        return
    yield ServerSentEvent(event="done", data=finish(answer).model_dump(mode="json"))


def index_health(pipeline: Pipeline) -> Health:
    """Whether an index is loaded, and its size."""
    snapshot = pipeline.store.snapshot()
    documents = snapshot.documents if snapshot is not None else {}
    return Health(
        status="ok" if snapshot is not None else "no_index",
        index_loaded=snapshot is not None,
        documents=len(documents),
        chunks=sum(int(d.get("chunks", 0)) for d in documents.values()),
        embedding_model=pipeline.settings.embedding_model,
    )


def api_router(pipeline: Pipeline, examples: ExampleQuestions, served: ServedAnswers) -> APIRouter:
    """The /api routes over one pipeline; `served` stores each answer and gives it an id."""
    router = APIRouter(prefix="/api", tags=["questions"])

    def chain_input(request: AskRequest) -> dict[str, Any]:
        history = [m.model_dump() for m in request.history or []]
        return {"question": request.question, "history": history}

    @router.post("/ask", response_model=Answer, responses=ERRORS, summary="Ask a question")
    def ask(request: AskRequest) -> Answer:
        """The cited answer: what `rag ask --json` prints, plus its `id` (share link, feedback)."""
        payload = chain_input(request)
        return served.keep(pipeline.chain.invoke(payload), request.question, payload["history"])

    def opened_stream(
        request: AskRequest,
    ) -> tuple[Answer, Iterator[Answer], Callable[..., Answer]]:
        """The first chunk validates the question: bad input fails before the stream opens."""
        payload = chain_input(request)
        stream = pipeline.chain.stream(payload)
        return (
            next(stream),
            stream,
            lambda answer: served.keep(answer, request.question, payload["history"]),
        )

    @router.post(
        "/ask/stream",
        responses={
            **STREAM_ERRORS,
            200: {
                "content": {"text/event-stream": {}},
                "description": "Server-sent events: `start` {question, retrieved}, then `delta` "
                "{text} as the answer is produced, then `done` with the whole answer object "
                "(as /api/ask returns it, citations included); `reset` {} means drop the text "
                "so far; `error` if answering fails.",
            },
        },
        response_class=EventSourceResponse,
        summary="Ask, streaming the answer",
    )
    def ask_stream(
        opened: tuple[Answer, Iterator[Answer], Callable[..., Answer]] = Depends(opened_stream),
    ) -> Iterator[ServerSentEvent]:
        """The answer as server-sent events; bad input fails with a 4xx before the stream opens."""
        yield from answer_events(*opened)

    @router.get(
        "/health",
        response_model=Health,
        responses={503: {"model": Health, "description": "Nothing is indexed."}},
        tags=["service"],
        summary="Index status",
    )
    def health() -> JSONResponse:
        """Whether the index is loaded, with document and chunk counts."""
        body = index_health(pipeline)
        return JSONResponse(body.model_dump(), status_code=200 if body.index_loaded else 503)

    @router.get("/examples", response_model=Examples, tags=["service"], summary="Example questions")
    def example_list() -> Examples:
        """Questions drawn from the indexed documents that they answer (as indexed now)."""
        return Examples(
            examples=list(examples.current()),
            max_question_chars=pipeline.chain.max_question_chars,  # what /api/ask enforces
        )

    return router
