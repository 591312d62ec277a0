"""Requests are bounded before anything parses them: body size, media type, no Gradio uploads."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api import error_response
from .guarded_paths import API, GRADIO_UPLOADS, is_documents, under

# Room for the multipart framing around an uploaded file.
MULTIPART_OVERHEAD = 64 * 1024


class BodyLimitMiddleware:
    """413 for a body over the limit: from Content-Length at once, or counted as it streams in.

    Uploads to the document routes may be as large as a document (`upload_bytes`).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes + MULTIPART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if is_documents(scope["path"]) else self.max_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(400, "bad_request", "Content-Length is not a number.")(
                    scope, receive, send
                )
                return
            if int(declared) > limit:
                await too_large(limit)(scope, receive, send)
                return
        received = 0
        answered = False  # our 413 went out: whatever the app sends after it is dropped
        started = False

        async def counting_receive() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request" and not answered:
                received += len(message.get("body", b""))
                if received > limit:
                    if not started:
                        await too_large(limit)(scope, receive, send)
                    answered = True
                    return {"type": "http.disconnect"}  # the app stops reading
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


def too_large(limit: int) -> ASGIApp:
    size = f"{limit / 1_000_000:.1f} MB" if limit >= 1_000_000 else f"{limit // 1024} kB"
    return error_response(413, "too_large", f"The request body is too large: the limit is {size}.")


class MediaTypeMiddleware:
    """A body sent to /api/* must be JSON (415 otherwise); multipart bodies, which Gradio would
    store as files, are taken only by the document routes, and Gradio's upload routes are gone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/") or "/"
        if path in GRADIO_UPLOADS:
            message = "There is no upload here: the chat takes no files."
            await error_response(404, "not_found", message)(scope, receive, send)
            return
        headers = Headers(scope=scope)
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        refusal = None
        if media_type == "multipart/form-data" and not is_documents(path):
            refusal = "This server takes no file uploads here."
        elif (
            has_body
            and under(path, (API,))
            and not is_documents(path)
            and not (media_type == "application/json" or media_type.endswith("+json"))
        ):
            refusal = "Send the body as application/json."
        if refusal is not None:
            await error_response(415, "unsupported_media_type", refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)
