"""API keys, the operator's token, and the short-lived tokens the chat page and widget obtain.

With RAG_API_KEYS set, /api/* and the Gradio API need `Authorization: Bearer <key>`. A page that
CORS lets in (ui/origins.py) or the app's own chat page gets a token from POST /api/token that
expires in minutes: HMAC-signed with a server secret, so any replica sharing RAG_TOKEN_SECRET
accepts it.
The Origin check only keeps other sites' pages out: a script can send any Origin it likes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, SecretStr
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api import ErrorResponse, error_response
from .guarded_paths import KEYED, TOKEN_ROUTE, is_documents, under
from .origins import OriginPolicy

COOKIE = "rag_token"


def now() -> float:
    """The clock tokens are checked against (a seam for tests)."""
    return time.time()


class TokenSigner:
    """Tokens `<expiry>.<signature>`: valid until `expiry` (Unix seconds) if the HMAC matches."""

    def __init__(self, secret: bytes, ttl_s: int) -> None:
        self.secret = secret
        self.ttl_s = ttl_s

    def _sign(self, expiry: str) -> str:
        digest = hmac.new(self.secret, f"page-token:{expiry}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self) -> str:
        expiry = str(int(now()) + self.ttl_s)
        return f"{expiry}.{self._sign(expiry)}"

    def check(self, token: str) -> str | None:
        """None when the token is good; otherwise why not."""
        expiry, _, signature = token.partition(".")
        if not expiry.isdigit() or not hmac.compare_digest(signature, self._sign(expiry)):
            return "The key or token is not valid."
        if int(expiry) < now():
            return "The token has expired: get a new one from POST /api/token."
        return None


def bearer(headers: Headers) -> str | None:
    """The credential of an `Authorization: Bearer <credential>` header."""
    scheme, _, credential = headers.get("authorization", "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" and credential.strip() else None


def matches(credential: str, secrets_: list[str]) -> bool:
    """Constant-time membership (no timing hint about a key's prefix)."""
    found = False
    for candidate in secrets_:
        found |= hmac.compare_digest(credential.encode(), candidate.encode())
    return found


def unauthorized(message: str) -> JSONResponse:
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


class AccessMiddleware:
    """The document routes need the admin token; with API keys, /api/* and the Gradio API need a
    key, a page token, or the chat page's token cookie."""

    def __init__(
        self,
        app: ASGIApp,
        api_keys: list[SecretStr],
        admin_token: SecretStr | None,
        signer: TokenSigner,
    ) -> None:
        self.app = app
        self.keys = [k.get_secret_value() for k in api_keys]
        self.admin = admin_token.get_secret_value() if admin_token else None
        self.signer = signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, headers = scope["path"], Headers(scope=scope)
        credential = bearer(headers)
        if self.admin and is_documents(path):
            if credential is None or not matches(credential, [self.admin]):
                await unauthorized("These routes need the operator's token.")(scope, receive, send)
                return
        elif self.keys and under(path, KEYED) and path != TOKEN_ROUTE:
            refusal = self.refusal(credential, headers)
            if refusal is not None:
                await unauthorized(refusal)(scope, receive, send)
                return
        if self.keys and scope["method"] == "GET" and path == "/":
            send = self.with_cookie(send)  # the chat page's own calls carry the cookie
        await self.app(scope, receive, send)

    def refusal(self, credential: str | None, headers: Headers) -> str | None:
        """None when the request may pass; otherwise what is wrong."""
        if credential is not None:
            if matches(credential, [*self.keys, *([self.admin] if self.admin else [])]):
                return None
            return self.signer.check(credential) or None
        cookie = cookie_value(headers, COOKIE)
        if cookie is not None:
            return self.signer.check(cookie)
        return "This API needs a key: send Authorization: Bearer <key>."

    def with_cookie(self, send: Send) -> Callable[[Message], Awaitable[None]]:
        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", page_cookie(self.signer))
            await send(message)

        return send_with_cookie


def page_cookie(signer: TokenSigner) -> str:
    """A fresh token as a cookie only this site's own requests carry (SameSite=Strict)."""
    return f"{COOKIE}={signer.issue()}; Path=/; Max-Age={signer.ttl_s}; HttpOnly; SameSite=Strict"


def cookie_value(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


def make_signer(secret: SecretStr | None, ttl_s: int) -> TokenSigner:
    key = secret.get_secret_value().encode() if secret else secrets.token_bytes(32)
    return TokenSigner(key, ttl_s)


class PageToken(BaseModel):
    """A short-lived token for `Authorization: Bearer <token>`."""

    token: str
    expires_in: int = Field(description="Seconds until it expires.")


def own_origin(request: Request, public_url: str | None) -> str:
    """The origin the app's own pages are served from."""
    if public_url:
        scheme, _, rest = public_url.partition("://")
        return f"{scheme}://{rest.split('/')[0]}"
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def token_router(signer: TokenSigner, origins: OriginPolicy, public_url: str | None) -> APIRouter:
    """POST /api/token: a page token for a page the API lets in (CORS) or the app itself."""
    router = APIRouter(prefix="/api", tags=["service"])

    @router.post(
        "/token",
        response_model=PageToken,
        responses={403: {"model": ErrorResponse, "description": "Not from an allowed origin."}},
        summary="A short-lived token for the chat page or widget",
    )
    def issue_token(request: Request) -> JSONResponse:
        """For browsers on an allowed origin; only needed when RAG_API_KEYS is set."""
        origin = request.headers.get("origin", "").rstrip("/")
        same_origin = origin == own_origin(request, public_url)
        if not origin or not (same_origin or origins.allows(origin)):
            return error_response(403, "forbidden", "Tokens are only for the allowed origins.")
        body = PageToken(token=signer.issue(), expires_in=signer.ttl_s)
        response = JSONResponse(body.model_dump())
        if same_origin:
            response.headers.append("set-cookie", page_cookie(signer))
        return response

    return router
