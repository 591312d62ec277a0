"""Who may call what: rate limits per client, API keys, the page's short-lived token."""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.app import Pipeline
from rag.web.rate_limit import QUEUE_REFUSALS_SHOWN
from tests.test_security_requests import ASK, app_with, assert_api_error

ALLOWED = "http://news.example"


def peer(app: Any, address: str) -> TestClient:
    """A client whose TCP peer address is `address`."""
    return TestClient(app, client=(address, 40000), raise_server_exceptions=False)


# --- rate limits ---


def test_the_default_limit_is_60_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.settings import Settings

    monkeypatch.delenv("RAG_RATE_LIMIT", raising=False)
    assert Settings().rate_limit == "60/minute"


def test_the_61st_request_in_a_minute_is_429_with_retry_after(seed_pipeline: Pipeline) -> None:
    app = app_with(seed_pipeline, rate_limit="60/minute")
    with peer(app, "203.0.113.7") as client:
        statuses = [client.get("/api/health").status_code for _ in range(60)]
        assert statuses == [200] * 60
        limited = client.post("/api/ask", json=ASK)
        assert_api_error(limited, 429, "rate_limited", "60 per 1 minute")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
    with peer(app, "203.0.113.8") as other:  # another client has its own budget
        assert other.post("/api/ask", json=ASK).status_code == 200


@pytest.mark.parametrize("path", ["/gradio_api/info", "/widget.js", "/api/nope"])
def test_the_limit_covers_the_gradio_api_the_widget_and_every_api_path(
    seed_pipeline: Pipeline, path: str
) -> None:
    app = app_with(seed_pipeline, rate_limit="3/minute")
    with peer(app, "203.0.113.9") as client:
        for _ in range(3):
            assert client.get(path).status_code != 429
        assert client.get(path).status_code == 429
        assert client.get("/source/nope.txt").status_code == 404  # pages are not limited


def test_the_chat_over_the_limit_says_in_the_chat_when_to_try_again(
    seed_pipeline: Pipeline,
) -> None:
    """A question asked in the chat past RAG_RATE_LIMIT gets the API's sentence as its reply (it
    was a bare `rate_limited` toast and an "Error" badge: Gradio's queue showed the 429's code)."""
    from tests.test_feedback import chat_event, rate_in_chat

    question = "Who is Steve Witkoff?"
    # Two clients behind a proxy: one TestClient (Gradio's queue keeps to one event loop).
    app = app_with(seed_pipeline, rate_limit="4/minute", trusted_proxies=["10.1.2.3"])
    first, second = ({"x-forwarded-for": f"192.0.2.{n}"} for n in (60, 61))
    with peer(app, "10.1.2.3") as client:
        served = client.post("/api/ask", json={"question": question}, headers=first).json()
        assert all(client.get("/api/health", headers=first).status_code == 200 for _ in range(3))
        assert_api_error(client.get("/api/health", headers=first), 429, "rate_limited")
        refused = chat_event(client, "rag-question", "submit", [question, []], headers=first)
        assert refused["success"] and refused["toasts"] == []
        messages, turns, box, _ = refused["output"]["data"]
        reply = html.unescape(json.dumps(messages[-1]["content"]))  # Gradio's content parts
        says = r"Too many requests: the limit is 4 per 1 minute per client; try again in \d+ s\."
        assert re.search(says, reply), reply
        assert "rate_limited" not in json.dumps(refused)
        assert box == question and turns[-1]["answer"] is None  # kept, to ask again
        # a rating is refused the same way: a warning, nothing stored
        (toast,) = rate_in_chat(client, served, "Like", headers=first)["toasts"]
        assert toast.startswith("warning: Too many requests")
        assert_api_error(client.get("/api/health", headers=first), 429, "rate_limited")
        # another client is answered in the chat
        answered = chat_event(client, "rag-question", "submit", [question, []], headers=second)
        assert "Witkoff" in json.dumps(answered["output"]["data"][0][-1]["content"])


def test_over_the_limit_only_a_few_chat_events_are_let_through_to_say_so(
    seed_pipeline: Pipeline,
) -> None:
    """Past RAG_RATE_LIMIT, the chat's queue events go on only to tell the reader (a few a minute);
    a client that keeps sending them gets 429s, so it cannot fill the queue others wait in."""
    app = app_with(seed_pipeline, rate_limit="2/minute")
    with peer(app, "198.51.100.7") as client:
        assert all(client.get("/api/health").status_code == 200 for _ in range(2))
        statuses = [client.post("/gradio_api/queue/join", json={}).status_code for _ in range(40)]
    passed = [s for s in statuses if s != 429]
    assert 0 < len(passed) <= QUEUE_REFUSALS_SHOWN and statuses[-1] == 429, statuses


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(seed_pipeline: Pipeline) -> None:
    app = app_with(seed_pipeline, rate_limit="2/minute", trusted_proxies=["10.0.0.0/8"])
    with peer(app, "198.51.100.1") as direct:  # not a proxy: its X-Forwarded-For is ignored
        for n in range(2):
            headers = {"x-forwarded-for": f"192.0.2.{n}"}
            assert direct.get("/api/health", headers=headers).status_code == 200
        assert (
            direct.get("/api/health", headers={"x-forwarded-for": "192.0.2.99"}).status_code == 429
        )
    with peer(app, "10.1.2.3") as proxy:  # a trusted proxy: each forwarded client counts alone
        for n in range(4):
            chain = {"x-forwarded-for": f"spoofed, 192.0.2.{n}, 10.9.9.9"}
            assert proxy.get("/api/health", headers=chain).status_code == 200
        same = {"x-forwarded-for": "192.0.2.0"}
        assert proxy.get("/api/health", headers=same).status_code == 200
        assert proxy.get("/api/health", headers=same).status_code == 429


def test_concurrent_requests_never_get_past_a_budget(seed_pipeline: Pipeline) -> None:
    """40 requests at once from one client, through the ASGI app: exactly the budget gets in."""
    app = app_with(seed_pipeline, rate_limit="10/minute", feedback_rate_limit="4/minute")
    feedback = {"answer_id": "A" * 16, "rating": "up"}  # 404 once counted: no answer is needed

    async def burst(address: str, path: str) -> list[int]:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            def send() -> Any:
                if path == "/api/feedback":
                    return client.post(path, json=feedback)
                return client.get(path)

            responses = await asyncio.gather(*(send() for _ in range(40)))
        return [r.status_code for r in responses]

    health = asyncio.run(burst("203.0.113.50", "/api/health"))
    assert health.count(200) == 10 and health.count(429) == 30
    posts = asyncio.run(burst("203.0.113.51", "/api/feedback"))
    assert posts.count(404) == 4 and posts.count(429) == 36


def test_threads_spending_one_budget_at_once_never_get_past_it() -> None:
    """The chat's ratings spend the feedback budget from Gradio's worker threads."""
    from limits import parse

    from rag.web.rate_limit import ClientBudgets, PathLimit

    budget = PathLimit("feedback", ("/api/feedback/",), parse("25/minute"), "Too much feedback")
    budgets = ClientBudgets([budget], trusted_proxies=[])
    start = threading.Barrier(8)

    def spend_ten() -> list[bool]:
        start.wait()
        return [budgets.spend([budget], "203.0.113.52") is None for _ in range(10)]

    with ThreadPoolExecutor(8) as pool:
        allowed = [ok for spent in pool.map(lambda _: spend_ten(), range(8)) for ok in spent]
    assert allowed.count(True) == 25 and len(allowed) == 80


@pytest.mark.parametrize("value", ["off", "0", ""])
def test_the_limit_can_be_switched_off(seed_pipeline: Pipeline, value: str) -> None:
    app = app_with(seed_pipeline, rate_limit=value)
    with peer(app, "203.0.113.10") as client:
        assert all(client.get("/api/health").status_code == 200 for _ in range(70))


@pytest.mark.parametrize("name", ["rate_limit", "feedback_rate_limit"])
def test_a_malformed_limit_is_a_settings_error(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from pydantic import ValidationError

    from rag.settings import Settings

    monkeypatch.setenv(f"RAG_{name.upper()}", "lots")
    with pytest.raises(ValidationError, match=f"{name}\n.*'lots' is not like '60/minute'"):
        Settings()


# --- API keys and the page token ---


@pytest.fixture(scope="module")
def keyed(seed_pipeline: Pipeline) -> Any:
    return app_with(
        seed_pipeline, api_keys=["key-one", "key-two"], allowed_origins=[ALLOWED], rate_limit="off"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/ask"), ("GET", "/api/health"), ("GET", "/gradio_api/info")],
)
def test_with_api_keys_the_api_needs_a_bearer_key(keyed: Any, method: str, path: str) -> None:
    with peer(keyed, "203.0.113.20") as client:
        body = ASK if method == "POST" else None
        assert_api_error(client.request(method, path, json=body), 401, "unauthorized")
        wrong = {"authorization": "Bearer key-three"}
        assert_api_error(
            client.request(method, path, json=body, headers=wrong), 401, "unauthorized"
        )
        right = {"authorization": "Bearer key-two"}
        assert client.request(method, path, json=body, headers=right).status_code == 200


def test_an_allowed_origin_gets_a_short_lived_token(keyed: Any) -> None:
    with peer(keyed, "203.0.113.21") as client:
        issued = client.post("/api/token", headers={"origin": ALLOWED})
        assert issued.status_code == 200
        assert issued.headers["access-control-allow-origin"] == ALLOWED
        token = issued.json()["token"]
        assert 60 <= issued.json()["expires_in"] <= 600
        headers = {"authorization": f"Bearer {token}", "origin": ALLOWED}
        answer = client.post("/api/ask", json=ASK, headers=headers)
        assert answer.status_code == 200 and answer.json()["citations"]
        tampered = {"authorization": f"Bearer {token[:-2]}xx"}
        assert_api_error(client.post("/api/ask", json=ASK, headers=tampered), 401, "unauthorized")
        assert_api_error(
            client.post("/api/token", headers={"origin": "http://evil.example"}), 403, "forbidden"
        )
        assert_api_error(client.post("/api/token"), 403, "forbidden")  # no Origin: not a page


def test_a_token_expires(seed_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    app = app_with(seed_pipeline, api_keys=["k"], allowed_origins=[ALLOWED], rate_limit="off")
    with peer(app, "203.0.113.22") as client:
        token = client.post("/api/token", headers={"origin": ALLOWED}).json()["token"]
        later = time.time() + 301
        monkeypatch.setattr("rag.web.access.now", lambda: later)
        expired = client.get("/api/health", headers={"authorization": f"Bearer {token}"})
        assert_api_error(expired, 401, "unauthorized", "expired")


def test_the_chat_page_keeps_working_with_keys_through_its_cookie(keyed: Any) -> None:
    with peer(keyed, "203.0.113.23") as client:
        page = client.get("/")
        assert page.status_code == 200
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        # the browser sends the cookie back on the page's own Gradio API calls
        assert client.get("/gradio_api/info").status_code == 200
        assert client.post("/api/token", headers={"origin": "http://testserver"}).status_code == 200
    with peer(keyed, "203.0.113.24") as stranger:  # no page visited, no key
        assert stranger.get("/gradio_api/info").status_code == 401


def test_without_api_keys_nothing_changes(seed_pipeline: Pipeline) -> None:
    with peer(app_with(seed_pipeline, rate_limit="off"), "203.0.113.25") as client:
        assert client.post("/api/ask", json=ASK).status_code == 200
        assert "set-cookie" not in client.get("/").headers


PAGE_ORIGINS = [
    "http://localhost:8000",
    "http://127.0.0.1:8000",
    "http://[::1]:9000",
    ALLOWED,
    "http://evil.example",
    "http://localhost.evil.example",
    "https://localhost",
    "http://127.0.0.1.evil.example:8000",
]


@pytest.mark.parametrize(
    ("local_pages", "origins", "expected"),
    [
        # `rag serve` on loopback with RAG_ALLOWED_ORIGINS unset: pages on this machine
        (True, [], {"http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:9000"}),
        (False, [ALLOWED], {ALLOWED}),  # the listed sites only
        (False, [], set()),  # `--host 0.0.0.0` and no list: no other site
    ],
)
def test_with_api_keys_the_origins_cors_lets_in_are_the_ones_that_get_a_token(
    seed_pipeline: Pipeline, local_pages: bool, origins: list[str], expected: set[str]
) -> None:
    """One rule: a page that may call the API (CORS) gets the token it needs with keys set;
    every other site gets neither."""
    import dataclasses

    from rag.web.server import create_app

    settings = type(seed_pipeline.settings).model_validate(
        {
            **seed_pipeline.settings.model_dump(),
            "api_keys": ["k1", "k2"],
            "allowed_origins": origins,
            "rate_limit": "off",
        }
    )
    pipeline = dataclasses.replace(seed_pipeline, settings=settings)
    app = create_app(pipeline, examples=[], allow_local_pages=local_pages)
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
    }
    cors, tokens = set(), set()
    with peer(app, "127.0.0.1") as client:
        for origin in PAGE_ORIGINS:
            reply = client.options("/api/ask", headers={"origin": origin, **preflight})
            if reply.headers.get("access-control-allow-origin") == origin:
                cors.add(origin)
            issued = client.post("/api/token", headers={"origin": origin})
            if issued.status_code == 200:
                token = issued.json()["token"]
                answer = client.post(
                    "/api/ask", json=ASK, headers={"authorization": f"Bearer {token}"}
                )
                assert answer.status_code == 200, origin
                tokens.add(origin)
            else:
                assert_api_error(issued, 403, "forbidden")
    assert cors == expected
    assert tokens == expected
