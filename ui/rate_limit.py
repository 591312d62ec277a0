"""Requests per client per window (the `limits` library), keyed by the client's address."""

from __future__ import annotations

import ipaddress
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.settings import RATE_LIMIT_OFF

from .api import error_response
from .guarded_paths import RATE_LIMITED, under

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_limit(value: str) -> RateLimitItem | None:
    """'60/minute' → the limit; 'off', '0' or '' → None (no limiting)."""
    return None if value.strip().lower() in RATE_LIMIT_OFF else parse(value)


def networks(addresses: list[str]) -> list[Network]:
    """The trusted proxies as networks ('10.0.0.5' is a /32)."""
    return [ipaddress.ip_network(a, strict=False) for a in addresses]


def _within(address: str, trusted: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(scope: Scope, trusted: list[Network]) -> str:
    """The peer's address; behind trusted proxies, the address X-Forwarded-For gives for it.

    The header is read from the right: each trusted proxy appended the address it got the request
    from, so the first untrusted address is the client (anything left of it may be forged).
    """
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if not trusted or not _within(peer, trusted):
        return peer
    forwarded = Headers(scope=scope).getlist("x-forwarded-for")
    hops = [hop.strip() for value in forwarded for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else peer


class RateLimitMiddleware:
    """429 with Retry-After once a client has used its requests on a rate-limited path."""

    def __init__(self, app: ASGIApp, limit: RateLimitItem, trusted_proxies: list[str]) -> None:
        self.app = app
        self.limit = limit
        self.trusted = networks(trusted_proxies)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not under(scope["path"], RATE_LIMITED):
            await self.app(scope, receive, send)
            return
        key = client_address(scope, self.trusted)
        if await self.limiter.hit(self.limit, key):
            await self.app(scope, receive, send)
            return
        stats = await self.limiter.get_window_stats(self.limit, key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        response = error_response(
            429,
            "rate_limited",
            f"Too many requests: the limit is {self.limit} per client; try again in {wait} s.",
        )
        response.headers["Retry-After"] = str(wait)
        await response(scope, receive, send)
