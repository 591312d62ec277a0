"""The REST API, source viewer and widget routes through HTTP (FastAPI's TestClient)."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rag.app import Pipeline
from rag.settings import Settings
from rag.web.server import create_app, local_pages_allowed

QUESTION = "Who is Steve Witkoff?"
SEED = "us-officials-withdraw-from-london-ceasefire-talks.txt"
ALLOWED = "http://news.example"


@pytest.fixture(scope="module")
def client(seed_pipeline: Pipeline) -> Iterator[TestClient]:
    settings = seed_pipeline.settings.model_copy(
        update={"allowed_origins": [ALLOWED], "concurrency": 7}
    )
    pipeline = dataclasses.replace(seed_pipeline, settings=settings)
    with TestClient(create_app(pipeline, examples=["Who is Marco Rubio?"])) as test_client:
        yield test_client


def parse_events(body: str) -> list[tuple[str, Any]]:
    """(event, payload) pairs of a server-sent event stream."""
    events = []
    for frame in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def without_timings(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without what differs between two askings: timings and the stored id."""
    return {k: v for k, v in answer.items() if k not in {"timings_ms", "id"}}


def test_ask_returns_the_same_object_as_rag_ask_json(
    client: TestClient, seed_pipeline: Pipeline
) -> None:
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    expected = json.loads(seed_pipeline.chain.invoke({"question": QUESTION}).model_dump_json())
    assert without_timings(body) == without_timings(expected)
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", body["id"]) and expected["id"] is None
    assert body["citations"] and not body["refused"]
    text = seed_pipeline.store.require_snapshot().document_text(SEED)
    for c in body["citations"]:
        assert text[c["start"] : c["end"]] == c["quote"]


def test_history_is_used_for_follow_ups(client: TestClient) -> None:
    first = client.post("/api/ask", json={"question": QUESTION}).json()
    history = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first["answer"]},
    ]
    follow_up = {"question": "What did he spend days doing?"}
    alone = client.post("/api/ask", json=follow_up).json()
    after = client.post("/api/ask", json={**follow_up, "history": history}).json()
    assert alone["refused"]  # "he" means nothing without the conversation
    assert "30-day freeze" in after["answer"] and not after["refused"]


def test_stream_sends_text_as_it_is_produced_then_the_citations(client: TestClient) -> None:
    with client.stream("POST", "/api/ask/stream", json={"question": QUESTION}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = parse_events(body)
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done"
    assert names.count("delta") > 5 and set(names) == {"start", "delta", "done"}
    assert events[0][1]["question"] == QUESTION and events[0][1]["retrieved"]
    done = events[-1][1]
    assert "".join(payload["text"] for name, payload in events if name == "delta") == done["answer"]
    plain = client.post("/api/ask", json={"question": QUESTION}).json()
    assert without_timings(done) == without_timings(plain)


def test_a_refusal_carries_its_related_passages_in_both_apis(client: TestClient) -> None:
    question = {"question": "How old is Volodymyr Zelensky?"}
    plain = client.post("/api/ask", json=question).json()
    assert plain["refused"] and plain["citations"] == []
    assert plain["related"] and {"n", "source", "start", "end", "quote"} <= set(plain["related"][0])
    with client.stream("POST", "/api/ask/stream", json=question) as response:
        done = parse_events("".join(response.iter_text()))[-1][1]
    assert done["related"] == plain["related"]
    schema = client.get("/openapi.json").json()
    assert "related" in schema["components"]["schemas"]["Answer"]["properties"]


@pytest.mark.parametrize(
    ("body", "status", "kind", "message"),
    [
        ('{"question": ""}', 422, "bad_input", "The question is empty"),
        ('{"question": "   \\n "}', 422, "bad_input", "The question is empty"),
        (json.dumps({"question": "why " * 600}), 422, "bad_input", "The question is too long"),
        ('{"question": "Who is', 400, "malformed_json", "not valid JSON"),
        ("", 400, "malformed_json", "JSON object"),
        ("[1, 2]", 400, "malformed_json", "JSON object"),
        ("{}", 422, "invalid_request", "question: Field required"),
        ('{"question": 42}', 422, "invalid_request", "question: Input should be a valid string"),
        ('{"question": "hi", "history": "nope"}', 422, "invalid_request", "history"),
    ],
)
@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream"])
def test_bad_input_is_a_4xx_with_a_clear_json_error(
    client: TestClient, path: str, body: str, status: int, kind: str, message: str
) -> None:
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()
    assert error["error"] == kind
    assert message in error["message"]
    assert "Traceback" not in response.text


def test_health_reports_the_index(client: TestClient, seed_pipeline: Pipeline) -> None:
    health = client.get("/api/health").json()
    documents = seed_pipeline.store.require_snapshot().documents
    assert health == {
        "status": "ok",
        "index_loaded": True,
        "documents": len(documents),
        "chunks": sum(d["chunks"] for d in documents.values()),
        "embedding_model": "all-MiniLM-L6-v2",
    }
    assert health["chunks"] > 1


def test_health_without_an_index_is_503(make_pipeline: Callable[..., Any]) -> None:
    with TestClient(create_app(make_pipeline(), examples=[])) as empty:
        response = empty.get("/api/health")
    assert response.status_code == 503
    assert response.json()["index_loaded"] is False and response.json()["documents"] == 0


def test_openapi_and_the_offline_docs_page(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/ask", "/api/ask/stream", "/api/health"} <= set(schema["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/api/ask/stream" in docs.text and "curl" in docs.text
    # FastAPI's default page pulls Swagger UI from a CDN; ours must load nothing from outside
    assert not re.search(r"""(src|href)=["']https?://""", docs.text)


def test_cors_allows_only_listed_origins(client: TestClient) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
    }
    allowed = client.options("/api/ask", headers={"origin": ALLOWED, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    denied = client.options("/api/ask", headers={"origin": "http://evil.example", **preflight})
    assert denied.status_code == 400
    assert "access-control-allow-origin" not in denied.headers
    simple = client.get("/api/health", headers={"origin": "http://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


@pytest.mark.parametrize(
    ("host", "origins", "allowed"),
    [
        ("127.0.0.1", [], True),
        ("::1", [], True),
        ("localhost", [], True),
        ("0.0.0.0", [], False),  # reachable from other machines: only listed sites
        ("192.168.1.20", [], False),
        ("127.0.0.1", ["https://news.example"], False),  # listed sites only, as configured
    ],
)
def test_rag_serve_lets_local_pages_embed_only_on_loopback(
    host: str, origins: list[str], allowed: bool
) -> None:
    assert local_pages_allowed(host, Settings(allowed_origins=origins)) is allowed


def test_local_pages_may_call_a_loopback_server_and_no_other_site(seed_pipeline: Pipeline) -> None:
    app = create_app(seed_pipeline, examples=[], allow_local_pages=True)
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
    }
    with TestClient(app) as local:
        for origin in ("http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:9000"):
            reply = local.options("/api/ask", headers={"origin": origin, **preflight})
            assert reply.headers.get("access-control-allow-origin") == origin
        for origin in ("http://evil.example", "http://localhost.evil.example", "https://localhost"):
            reply = local.options("/api/ask", headers={"origin": origin, **preflight})
            assert "access-control-allow-origin" not in reply.headers, origin
        frame = local.get("/widget").headers["content-security-policy"]
        assert "frame-ancestors 'self' http://localhost:* http://127.0.0.1:*" in frame


def test_source_viewer_highlights_the_cited_span(
    client: TestClient, seed_pipeline: Pipeline
) -> None:
    citation = client.post("/api/ask", json={"question": QUESTION}).json()["citations"][0]
    page = client.get(
        f"/source/{SEED}", params={"start": citation["start"], "end": citation["end"]}
    )
    assert page.status_code == 200
    marked = re.search(r'<mark id="cite">(.*?)</mark>', page.text, re.S)
    assert marked and marked.group(1) == citation["quote"].replace("'", "&#x27;")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    whole = client.get(f"/source/{SEED}")
    assert whole.status_code == 200 and "<mark" not in whole.text


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/source/nope.txt", 404, "no indexed document"),
        (f"/source/{SEED}?start=10", 400, "give both start and end"),
        (f"/source/{SEED}?start=a&end=b", 400, "whole numbers"),
        (f"/source/{SEED}?start=50&end=10", 400, "outside the document"),
        (f"/source/{SEED}?start=0&end=99999999", 400, "outside the document"),
    ],
)
def test_bad_source_links_get_a_friendly_page(
    client: TestClient, path: str, status: int, says: str
) -> None:
    page = client.get(path)
    assert page.status_code == status
    assert says in page.text and "Back to the chat" in page.text


def test_widget_files_and_the_embed_page(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "/api/ask/stream" in script.text and "innerHTML" not in script.text
    assert client.get("/widget.css").status_code == 200
    embed = client.get("/embed")
    assert "&lt;script src=&quot;http://testserver/widget.js&quot;" in embed.text
    assert "&lt;iframe src=&quot;http://testserver/widget&quot;" in embed.text
    frame = client.get("/widget")
    assert f"frame-ancestors 'self' {ALLOWED}" in frame.headers["content-security-policy"]
    examples = client.get("/api/examples").json()
    assert examples == {"examples": ["Who is Marco Rubio?"], "max_question_chars": 2000}


def test_the_chat_page_is_served_at_the_root_with_analytics_off(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "Ask the news" in page.text
    config = client.get("/config").json()
    assert config["analytics_enabled"] is False


def test_queue_concurrency_comes_from_settings(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    mounted: list[Any] = [getattr(route, "app", None) for route in app.routes]
    gradio_apps = [a for a in mounted if hasattr(a, "get_blocks")]
    assert len(gradio_apps) == 1
    assert gradio_apps[0].get_blocks()._queue.default_concurrency_limit == 7


def test_example_page_embeds_the_widget_with_one_snippet() -> None:
    example = (Path(__file__).resolve().parents[1] / "ui" / "embed" / "example.html").read_text()
    assert re.findall(r"<script[^>]*>", example) == [
        '<script src="http://127.0.0.1:7860/widget.js" data-title="Ask the news" async>'
    ]


def test_allowed_origins_come_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rag.settings import Settings

    monkeypatch.setenv("RAG_ALLOWED_ORIGINS", "http://a.example, https://b.example:8443/")
    assert Settings().allowed_origins == ["http://a.example", "https://b.example:8443"]
    monkeypatch.delenv("RAG_ALLOWED_ORIGINS")
    assert Settings().allowed_origins == []


# CSP's host-source grammar (a host is letters, digits and hyphens between dots: no IPv6 literal)
CSP_SOURCE = re.compile(
    r"'self'|(https?://)?(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:(\d+|\*))?", re.ASCII
)


@pytest.mark.parametrize(
    ("local_pages", "origins"),
    [(True, []), (False, [ALLOWED, "http://[::1]:8000", "https://news.example:8443"])],
)
def test_widget_frame_ancestors_hold_only_sources_browsers_accept(
    seed_pipeline: Pipeline, local_pages: bool, origins: list[str]
) -> None:
    """Chromium logs an error for a source like http://[::1]:* and ignores it: none is sent, and
    /embed says which pages may frame the widget and which may only use the script."""
    settings = seed_pipeline.settings.model_copy(update={"allowed_origins": origins})
    pipeline = dataclasses.replace(seed_pipeline, settings=settings)
    with TestClient(create_app(pipeline, examples=[], allow_local_pages=local_pages)) as client:
        policy = client.get("/widget").headers["content-security-policy"]
        embed = client.get("/embed").text
    ancestors = re.search(r"frame-ancestors ([^;]*)", policy)
    assert ancestors, policy
    sources = ancestors.group(1).split()
    assert sources[0] == "'self'" and len(sources) > 1
    assert [s for s in sources if not CSP_SOURCE.fullmatch(s)] == []
    allowed = re.search(r'<p id="allowed-sites">(.*?)</p>', embed, re.S)
    assert allowed, embed
    assert "[::1]" in allowed.group(1) and "not in an iframe" in allowed.group(1)


def test_the_examples_carry_the_question_limit_the_widget_checks(seed_pipeline: Pipeline) -> None:
    """The widget learns RAG_MAX_QUESTION_CHARS where it already reads the example questions."""
    chain = copy.copy(seed_pipeline.chain)  # as RAG_MAX_QUESTION_CHARS=120 builds it
    chain.max_question_chars = 120
    pipeline = dataclasses.replace(seed_pipeline, chain=chain)
    with TestClient(create_app(pipeline, examples=[QUESTION])) as client:
        assert client.get("/api/examples").json() == {
            "examples": [QUESTION],
            "max_question_chars": 120,
        }
        refused = client.post("/api/ask", json={"question": "x" * 121})
        assert refused.status_code == 422 and "the limit is 120" in refused.json()["message"]
