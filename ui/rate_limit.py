"""Requests per client per window (the `limits` library), keyed by the client's address: one
budget for every rate-limited path, and one of its own for feedback (posts to /api/feedback and
the chat page's ratings, which are Gradio events; not withdrawals, which add nothing). Refused: a
429, or for the chat page's events the refusal handed to their handler, which shows it in the
chat."""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.settings import RATE_LIMIT_OFF, Settings

from .api import error_response
from .guarded_paths import FEEDBACK, GRADIO_QUEUE, RATE_LIMITED, under

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


@dataclass(frozen=True)
class PathLimit:
    """A budget per client for the requests under some paths (as `guarded_paths.under` reads)."""

    name: str  # keeps this budget's counts apart from the others'
    paths: tuple[str, ...]
    limit: RateLimitItem
    refusal: str  # the 429's message starts with it
    methods: tuple[str, ...] = ()  # the methods it counts; () counts every one


FEEDBACK_BUDGET = "feedback"


def path_limits(settings: Settings) -> list[PathLimit]:
    """The budgets the settings switch on: every rate-limited path's, and feedback's own."""
    # Feedback counts ratings only: a withdrawal (DELETE) adds nothing to the answers store.
    budgets = [
        ("requests", RATE_LIMITED, settings.rate_limit, "Too many requests", ()),
        (FEEDBACK_BUDGET, FEEDBACK, settings.feedback_rate_limit, "Too much feedback", ("POST",)),
    ]
    return [
        PathLimit(name, paths, limit, refusal, methods)
        for name, paths, value, refusal, methods in budgets
        if (limit := parse_limit(value)) is not None
    ]


@dataclass(frozen=True)
class Refusal:
    """Why a client's request is refused, and how long until it may try again."""

    message: str
    retry_after: int  # seconds


class ClientBudgets:
    """The budgets' counts per client, shared by the middleware and the chat page's ratings.

    In memory and synchronous: a count is a list operation under a lock (never I/O), so the
    middleware can take it on the event loop and a Gradio handler on its worker thread.
    """

    def __init__(self, limits: list[PathLimit], trusted_proxies: list[str]) -> None:
        self.limits = limits
        self.trusted = networks(trusted_proxies)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def for_request(self, method: str, path: str) -> list[PathLimit]:
        """The budgets a `method` request to `path` counts in."""
        return [
            b
            for b in self.limits
            if under(path, b.paths) and (not b.methods or method in b.methods)
        ]

    def named(self, name: str) -> list[PathLimit]:
        """The budget called `name` (`[]` when its setting switched it off)."""
        return [b for b in self.limits if b.name == name]

    def client(self, scope: Scope) -> str:
        """The client a request comes from (see `client_address`)."""
        return client_address(scope, self.trusted)

    def spend(self, budgets: list[PathLimit], key: str) -> Refusal | None:
        """None once the request is counted in each budget; else the first one it would exceed.

        All are tested before any is hit, so a refused request uses up none of them (unless a
        concurrent request fills a later budget between the test and the hits: then the refused
        one is counted in the earlier ones). A hit is atomic and its answer honoured, so
        concurrent requests never get past a budget.
        """
        for check in (self.limiter.test, self.limiter.hit):
            for budget in budgets:
                if not check(budget.limit, budget.name, key):
                    return self._refusal(budget, key)
        return None

    def shows_refusal(self, key: str) -> bool:
        """Whether a refused chat event of client `key` may still go on to say so in the chat
        (`QUEUE_REFUSALS_SHOWN` a minute); counted."""
        return self.limiter.hit(_SHOWN, "queue-refusals", key)

    def _refusal(self, budget: PathLimit, key: str) -> Refusal:
        stats = self.limiter.get_window_stats(budget.limit, budget.name, key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        message = (
            f"{budget.refusal}: the limit is {budget.limit} per client; try again in {wait} s."
        )
        return Refusal(message, wait)


REFUSAL_STATE = "rag_rate_limit_refusal"  # where a passed-on refusal is kept in the scope
# Over its budget, a client's chat events go on with the refusal (so the chat can say so) this
# many times a minute; after that they get a 429, so they cannot fill the queue others wait in.
QUEUE_REFUSALS_SHOWN = 10
_SHOWN = parse(f"{QUEUE_REFUSALS_SHOWN}/minute")


def refusal_in(scope: Scope) -> Refusal | None:
    """The refusal the middleware passed on with a chat page's event, if it was over a budget."""
    refusal = scope.get("state", {}).get(REFUSAL_STATE)
    return refusal if isinstance(refusal, Refusal) else None


class RateLimitMiddleware:
    """429 with Retry-After once a client has used one of the budgets a request's path counts in.

    Gradio's queue is the exception: its events go on with the refusal in the request's state
    (`refusal_in`), and the chat's handlers answer with its message instead of doing the work;
    only `QUEUE_REFUSALS_SHOWN` a minute, then they get the 429 too.
    """

    def __init__(self, app: ASGIApp, budgets: ClientBudgets) -> None:
        self.app = app
        self.budgets = budgets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http = scope["type"] == "http"
        budgets = self.budgets.for_request(scope["method"], scope["path"]) if http else []
        key = self.budgets.client(scope) if budgets else ""
        refusal = self.budgets.spend(budgets, key) if budgets else None
        if (
            refusal is not None
            and scope["path"] in GRADIO_QUEUE
            and self.budgets.shows_refusal(key)
        ):
            scope.setdefault("state", {})[REFUSAL_STATE] = refusal
            refusal = None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        response = error_response(429, "rate_limited", refusal.message)
        response.headers["Retry-After"] = str(refusal.retry_after)
        await response(scope, receive, send)
