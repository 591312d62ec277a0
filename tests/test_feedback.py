"""Served answers stored with an id: the store, /api/feedback, /a/<id>, /status, `rag feedback`."""

from __future__ import annotations

import html as html_module
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rag.app import Pipeline
from rag.cli import app as cli
from rag.evaluation.dataset import load_questions
from rag.feedback import SCHEMA, AnswerLog
from rag.models import Answer, Citation, ShortAnswer
from rag.web.render import RELATED_LABEL
from rag.web.served import ServedAnswers
from rag.web.server import create_app
from tests.conftest import MakePipeline
from tests.test_security_access import peer
from tests.test_security_requests import app_with, assert_api_error
from tests.test_ui_chat_ratings import listed

QUESTION = "Who is Steve Witkoff?"
HOSTILE = "<img src=x onerror=alert(1)> Who is <b>Steve Witkoff</b>?"


def answer(question: str = QUESTION) -> Answer:
    citation = Citation(
        n=1, source="a.txt", title="A", section="", chunk_id="c", start=0, end=5, quote="Alpha"
    )
    return Answer(question=question, answer="Alpha. [1]", citations=[citation])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AnswerLog]:
    answer_log = AnswerLog(tmp_path / "answers.sqlite3", max_answers=100)
    yield answer_log
    answer_log.close()


def test_an_answer_is_stored_as_served_and_rated(store: AnswerLog) -> None:
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    answer_id = store.record(answer(), history, "gen-1")
    assert answer_id is not None and re.fullmatch(r"[A-Za-z0-9_-]{16}", answer_id)
    stored = store.get(answer_id)
    assert stored is not None
    assert (stored.question, stored.answer, stored.history) == (QUESTION, "Alpha. [1]", history)
    assert stored.citations == answer().citations and stored.generation == "gen-1"
    assert stored.rating is None and store.rated() == []

    assert store.rate(answer_id, "down", "  wrong person  ")
    assert store.rate(answer_id, "up")  # a second rating replaces the first
    (rated,) = store.rated()
    assert (rated.rating, rated.comment) == ("up", "")
    assert store.rated("down") == []
    assert not store.rate("A" * 16, "up")  # no such answer
    assert store.withdraw(answer_id) and store.rated() == []  # withdrawn: not rated at all
    assert store.withdraw(answer_id)  # twice is the same
    stored_again = store.get(answer_id)
    assert stored_again is not None and stored_again.rating is None  # the answer stays
    assert not store.withdraw("A" * 16) and not store.withdraw("../../etc")
    assert not store.rate("../../etc", "up") and store.get("../../etc") is None


def test_the_table_is_bounded_and_keeps_rated_answers(tmp_path: Path) -> None:
    store = AnswerLog(tmp_path / "answers.sqlite3", max_answers=100)
    first = store.record(answer("first"), [], None)
    assert first is not None and store.rate(first, "down", "keep me")
    for n in range(399):
        store.record(answer(f"q{n}"), [], None)
    store.close()
    reopened = AnswerLog(tmp_path / "answers.sqlite3")
    count = reopened._call(lambda c: c.execute("SELECT count(*) FROM answers").fetchone()[0])
    assert count == 100
    assert reopened.get(first) is not None  # the rated one outlived 300 pruned answers
    reopened.close()


def test_recording_never_waits_for_the_database(store: AnswerLog) -> None:
    release = threading.Event()

    def slow_disk(connection: sqlite3.Connection) -> None:
        release.wait(5)

    store._submit(slow_disk)  # the writer is stuck
    started = time.perf_counter()
    answer_id = store.record(answer(), [], None)
    assert time.perf_counter() - started < 0.05 and answer_id is not None
    release.set()
    assert store.get(answer_id) is not None  # written once the writer got to it


@pytest.fixture
def client(seed_pipeline: Pipeline, store: AnswerLog) -> Iterator[TestClient]:
    with TestClient(create_app(seed_pipeline, examples=[], answer_log=store)) as test_client:
        yield test_client


def ask(
    client: TestClient,
    question: str = QUESTION,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> dict[str, Any]:
    response = client.post("/api/ask", json={"question": question, **body}, headers=headers)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def test_feedback_is_stored_and_bad_feedback_is_a_4xx_in_the_api_shape(
    client: TestClient,
) -> None:
    answer_id = ask(client)["id"]
    ok = client.post("/api/feedback", json={"answer_id": answer_id, "rating": "down"})
    assert ok.status_code == 200 and ok.json()["rating"] == "down"

    cases = [
        ({"answer_id": "A" * 16, "rating": "up"}, 404, "not_found"),
        ({"answer_id": answer_id, "rating": "meh"}, 422, "invalid_request"),
        ({"answer_id": answer_id, "rating": "up", "comment": "x" * 2001}, 422, "invalid_request"),
        ({"rating": "up"}, 422, "invalid_request"),
    ]
    for body, status, kind in cases:
        response = client.post("/api/feedback", json=body)
        assert response.status_code == status, body
        assert response.json()["error"] == kind and response.json()["message"]
    broken = client.post(
        "/api/feedback", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400


def test_feedback_is_rate_limited_per_client(client: TestClient) -> None:
    # The tests run with RAG_RATE_LIMIT=off: the feedback budget stays on without it.
    rating = {"answer_id": ask(client)["id"], "rating": "up"}
    statuses = [client.post("/api/feedback", json=rating).status_code for _ in range(35)]
    assert statuses[:30] == [200] * 30 and set(statuses[30:]) == {429}
    limited = client.post("/api/feedback", json=rating)
    assert_api_error(
        limited, 429, "rate_limited", "too much feedback: the limit is 30 per 1 minute"
    )
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200


def test_feedback_has_its_own_budget_and_counts_in_the_general_one(
    seed_pipeline: Pipeline,
) -> None:
    app = app_with(seed_pipeline, rate_limit="4/minute", feedback_rate_limit="2/minute")
    with peer(app, "203.0.113.30") as client:
        rating = {"answer_id": ask(client)["id"], "rating": "up"}  # request 1 of 4
        assert [client.post("/api/feedback", json=rating).status_code for _ in range(2)] == [
            200
        ] * 2
        refused = client.post("/api/feedback", json=rating)  # refused: counted in neither budget
        assert_api_error(refused, 429, "rate_limited", "too much feedback")
        assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200  # 4 of 4
        too_many = client.post("/api/ask", json={"question": QUESTION})
        assert_api_error(too_many, 429, "rate_limited", "too many requests")


def test_the_feedback_limit_can_be_switched_off(seed_pipeline: Pipeline) -> None:
    app = app_with(seed_pipeline, feedback_rate_limit="off")
    with peer(app, "203.0.113.31") as client:
        rating = {"answer_id": ask(client)["id"], "rating": "up"}
        assert all(client.post("/api/feedback", json=rating).status_code == 200 for _ in range(35))


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_feedback_budget(
    seed_pipeline: Pipeline,
) -> None:
    app = app_with(seed_pipeline, trusted_proxies=["10.1.2.3"])
    with peer(app, "10.1.2.3") as proxy:
        rating = {"answer_id": ask(proxy)["id"], "rating": "up"}
        first, second = ({"x-forwarded-for": f"192.0.2.{n}"} for n in (1, 2))
        statuses = [
            proxy.post("/api/feedback", json=rating, headers=first).status_code for _ in range(30)
        ]
        assert statuses == [200] * 30
        assert_api_error(
            proxy.post("/api/feedback", json=rating, headers=first), 429, "rate_limited"
        )
        assert proxy.post("/api/feedback", json=rating, headers=second).status_code == 200
        assert proxy.post("/api/feedback", json=rating, headers=first).status_code == 429


def test_a_rating_is_withdrawn_through_the_api_and_the_answer_stays(
    client: TestClient, store: AnswerLog
) -> None:
    served = ask(client)
    rating = {"answer_id": served["id"], "rating": "up", "comment": "spot on"}
    assert client.post("/api/feedback", json=rating).status_code == 200
    assert "1 rated answer(s)" in listed(store)

    withdrawn = client.delete(f"/api/feedback/{served['id']}")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json() == {"answer_id": served["id"], "rating": None}
    assert store.rated() == [] and "0 rated answer(s)" in listed(store)
    kept = store.get(served["id"])
    assert kept is not None and kept.answer == served["answer"]  # the answer itself stays
    assert (kept.rating, kept.comment) == (None, "")  # the comment went with the rating
    assert client.get(f"/a/{served['id']}").status_code == 200  # so does its share link

    again = client.delete(f"/api/feedback/{served['id']}")  # nothing left to withdraw
    assert again.status_code == 200 and again.json()["rating"] is None
    assert client.post("/api/feedback", json={**rating, "rating": "down"}).status_code == 200
    assert [a.rating for a in store.rated()] == ["down"]  # rated again after a withdrawal


@pytest.mark.parametrize(
    "answer_id",
    [
        "A" * 16,  # well formed, never served
        "A" * 20_000,
        "%2E%2E",
        "x%00y",
        "' OR 1=1; DELETE FROM feedback; --",
        "%3Cimg%20src=x%20onerror=alert(1)%3E",
        "%F0%9F%91%8D" * 16,  # 👍 × 16
        "%ED%A0%80",  # a lone surrogate, not UTF-8
        "%FF%FE",
    ],
)
def test_withdrawing_an_unknown_or_hostile_id_is_a_404_that_touches_nothing(
    client: TestClient, store: AnswerLog, answer_id: str
) -> None:
    served = ask(client)
    assert client.post("/api/feedback", json={"answer_id": served["id"], "rating": "down"})
    refused = client.delete(f"/api/feedback/{answer_id}")
    assert_api_error(refused, 404, "not_found", "there is no stored answer with this id")
    assert [a.id for a in store.rated()] == [served["id"]]  # the stored rating is untouched


def test_a_withdrawal_without_a_stored_answer_is_a_404_or_405_in_the_api_shape(
    client: TestClient,
) -> None:
    for path in ("/api/feedback/a/b", "/api/feedback/..%2F..%2Fetc%2Fpasswd", "/api/feedback/"):
        assert_api_error(client.delete(path), 404, "not_found")
    assert_api_error(client.get(f"/api/feedback/{'A' * 16}"), 405, "method_not_allowed", "DELETE")
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/feedback/{answer_id}"]["delete"]
    assert {"200", "404", "429", "503"} <= set(operation["responses"])


def test_a_withdrawal_spends_no_feedback_budget_but_counts_in_the_general_one(
    seed_pipeline: Pipeline, store: AnswerLog
) -> None:
    """As on the chat page: a withdrawal adds nothing to the store, so the feedback budget neither
    counts nor refuses it; every request to the API still counts in RAG_RATE_LIMIT."""
    app = app_with(
        seed_pipeline, rate_limit="6/minute", feedback_rate_limit="2/minute", feedback_db=store.path
    )
    with peer(app, "203.0.113.32") as client:
        answer_id = ask(client)["id"]  # request 1 of 6
        rating = {"answer_id": answer_id, "rating": "up"}
        withdraw = f"/api/feedback/{answer_id}"
        assert client.post("/api/feedback", json=rating).status_code == 200  # 2; feedback 1 of 2
        assert client.delete(withdraw).status_code == 200  # 3; no feedback spent
        assert client.post("/api/feedback", json=rating).status_code == 200  # 4; feedback 2 of 2
        assert_api_error(client.post("/api/feedback", json=rating), 429, "rate_limited", "feedback")
        assert [a.rating for a in store.rated()] == ["up"]
        assert client.delete(withdraw).status_code == 200  # 5: taken over the feedback budget
        assert store.rated() == []
        assert client.delete(withdraw).status_code == 200  # 6 of 6
        assert_api_error(client.delete(withdraw), 429, "rate_limited", "too many requests")


def test_a_withdrawal_follows_the_origin_and_key_rules_of_a_rating(
    seed_pipeline: Pipeline, store: AnswerLog
) -> None:
    allowed, evil = "http://news.example", "http://evil.example"
    app = app_with(
        seed_pipeline, allowed_origins=[allowed], api_keys=["key-one"], feedback_db=store.path
    )
    key = {"authorization": "Bearer key-one"}
    with peer(app, "203.0.113.33") as client:
        answer_id = ask(client, headers=key)["id"]
        withdraw = f"/api/feedback/{answer_id}"
        for method, path in (("POST", "/api/feedback"), ("DELETE", withdraw)):
            preflight = {
                "access-control-request-method": method,
                "access-control-request-headers": "content-type, authorization",
            }
            welcome = client.options(path, headers={"origin": allowed, **preflight})
            assert welcome.status_code == 200, (method, welcome.text)
            assert welcome.headers["access-control-allow-origin"] == allowed
            assert method in welcome.headers["access-control-allow-methods"]
            stranger = client.options(path, headers={"origin": evil, **preflight})
            assert stranger.status_code == 400
            assert "access-control-allow-origin" not in stranger.headers

        rating = {"answer_id": answer_id, "rating": "up"}
        assert client.post("/api/feedback", json=rating, headers=key).status_code == 200
        assert_api_error(client.delete(withdraw), 401, "unauthorized")  # no key: kept
        assert [a.rating for a in store.rated()] == ["up"]
        token = client.post("/api/token", headers={"origin": allowed}).json()["token"]
        page = {"authorization": f"Bearer {token}", "origin": allowed}
        withdrawn = client.delete(withdraw, headers=page)
        assert withdrawn.status_code == 200
        assert withdrawn.headers["access-control-allow-origin"] == allowed
        assert store.rated() == []
        read_elsewhere = client.delete(withdraw, headers={**key, "origin": evil})
        assert "access-control-allow-origin" not in read_elsewhere.headers


def test_a_broken_database_never_fails_an_answer(seed_pipeline: Pipeline, tmp_path: Path) -> None:
    unusable = AnswerLog(tmp_path)  # a folder, not a file: every write fails
    with TestClient(create_app(seed_pipeline, examples=[], answer_log=unusable)) as broken:
        body = ask(broken)
        assert body["citations"] and body["id"]
        stream = broken.post("/api/ask/stream", json={"question": QUESTION})
        assert stream.status_code == 200 and "event: done" in stream.text
        feedback = broken.post("/api/feedback", json={"answer_id": body["id"], "rating": "up"})
        assert feedback.status_code == 503 and feedback.json()["error"] == "unavailable"
        withdrawal = broken.delete(f"/api/feedback/{body['id']}")
        assert_api_error(withdrawal, 503, "unavailable", "the answer store failed")


def test_stream_done_event_carries_the_stored_id(client: TestClient) -> None:
    response = client.post("/api/ask/stream", json={"question": QUESTION})
    done = response.text.split("event: done\r\ndata: ")[-1].split("\r\n")[0]
    if done == response.text:  # framing with plain newlines
        done = response.text.split("event: done\ndata: ")[-1].split("\n")[0]
    answer_id = json.loads(done)["id"]
    assert client.get(f"/a/{answer_id}").status_code == 200


def test_share_page_shows_the_answer_as_stored(client: TestClient) -> None:
    history = [{"role": "user", "content": "Who pulled out of the talks?"}]
    body = ask(client, HOSTILE, history=history)
    page = client.get(f"/a/{body['id']}")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert "<img src=x" not in html and "<b>Steve" not in html  # the question stays text
    assert HOSTILE in html_module.unescape(html)  # shown literally, as typed
    assert "Who pulled out of the talks?" in html  # the earlier turn
    titles = re.findall(r'class="rag-doc-title"', html)
    assert len(titles) == len({c["source"] for c in body["citations"]}) >= 1
    for citation in body["citations"]:
        assert f"?start={citation['start']}&end={citation['end']}" in html_module.unescape(html)

    missing = client.get("/a/AAAAAAAAAAAAAAAA")
    assert missing.status_code == 404 and "no stored answer" in missing.text
    assert "script-src 'self'" in missing.headers["content-security-policy"]


def test_a_shared_refusal_keeps_its_related_passages(client: TestClient) -> None:
    body = ask(client, "How old is Volodymyr Zelensky?")
    assert body["refused"] and body["related"]
    html = html_module.unescape(client.get(f"/a/{body['id']}").text)
    assert "Not in the documents" in html and RELATED_LABEL in html
    for passage in body["related"]:
        assert passage["quote"] in html


def test_a_database_from_before_related_passages_is_upgraded(tmp_path: Path) -> None:
    """An answers table without `related` (older versions) gains the column and keeps its rows."""
    path = tmp_path / "answers.sqlite3"
    old_schema = SCHEMA.replace(",\n    related TEXT", "")
    assert "related" not in old_schema
    with sqlite3.connect(path) as connection:
        connection.executescript(old_schema)
        connection.execute(
            "INSERT INTO answers VALUES (?,?,?,?,?,?,?,?,?,?)",
            ("A" * 16, "2026-01-01T00:00:00+00:00", "Q?", "[]", "No.", "[]", None, 1, "", None),
        )
    store = AnswerLog(path, max_answers=100)
    try:
        old = store.get("A" * 16)
        assert old is not None and old.refused and old.related == []
        related = answer().citations
        refusal = Answer(question="Q2?", answer="No.", refused=True, related=related)
        new_id = store.record(refusal, [], "gen-2")
        assert new_id is not None
        stored = store.get(new_id)
        assert stored is not None and stored.related == related
    finally:
        store.close()


def test_status_is_a_page_for_people_and_health_stays_json(client: TestClient) -> None:
    page = client.get("/status")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Ready: answering from 1 document" in page.text and 'href="/api/health"' in page.text
    assert client.get("/api/health").json()["status"] == "ok"


@pytest.mark.slow
def test_feedback_export_is_a_question_set_rag_eval_runs(
    make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    pipeline.ingest()
    with TestClient(create_app(pipeline, examples=[])) as client:
        liked = ask(client)
        disliked = ask(client, "What did he spend days doing?")
        refused = ask(client, "What is the boiling point of tungsten?")
        assert refused["refused"]
        for body, rating in ((liked, "up"), (disliked, "down"), (refused, "up")):
            reply = client.post(
                "/api/feedback",
                json={"answer_id": body["id"], "rating": rating, "comment": f"{rating}!"},
            )
            assert reply.status_code == 200
    index = ["--index-dir", str(tmp_path / "index")]

    listed = CliRunner().invoke(cli, ["feedback", "list", *index])
    assert listed.exit_code == 0, listed.output
    assert "👎  What did he spend days doing?  “down!”" in listed.output

    out = tmp_path / "from-chat.jsonl"
    exported = CliRunner().invoke(cli, ["feedback", "export", "--out", str(out), *index])
    assert exported.exit_code == 0, exported.output
    assert "2 regression check(s) from 👍, 1 to write references for" in exported.output
    questions = {q.question: q for q in load_questions(out)}
    assert questions["What did he spend days doing?"].needs_reference
    regression = questions[QUESTION]
    assert regression.must_include == [[liked["citations"][0]["quote"]]]
    assert regression.reference_sources == [liked["citations"][0]["source"]]
    assert not questions["What is the boiling point of tungsten?"].answerable

    report_dir = tmp_path / "report"
    docs = ["--docs", str(tmp_path / "docs")]
    evaluated = CliRunner().invoke(cli, ["eval", str(out), *docs, *index, "--out", str(report_dir)])
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["needs_reference"] == 1
    by_question = {q["question"]: q for q in report["per_question"]}
    assert by_question[QUESTION]["passed"] and by_question[QUESTION]["scores"]["must_include"] == 1
    waiting = by_question["What did he spend days doing?"]
    assert waiting["needs_reference"] and waiting["scores"]["false_refusal_rate"] is None
    assert by_question["What is the boiling point of tungsten?"]["scores"]["refusal_accuracy"] == 1


def test_feedback_list_json_has_what_api_ask_showed(tmp_path: Path) -> None:
    """Each rated answer with its citations, short answer and related passages, as /api/ask
    gave them (the same keys and shapes)."""
    path = tmp_path / "answers.sqlite3"
    store = AnswerLog(path, max_answers=100)
    cited = answer()
    short = ShortAnswer(text="Alpha", source="a.txt", start=0, end=5)
    cited.short_answer = short
    refusal = Answer(question="Q2?", answer="No.", refused=True, related=answer().citations)
    ids = [store.record(a, [], "gen-1") for a in (cited, refusal)]
    assert all(i is not None and store.rate(i, "up") for i in ids)
    store.close()

    listed = CliRunner().invoke(cli, ["feedback", "list", "--json", "--db", str(path)])
    assert listed.exit_code == 0, listed.output
    by_id = {r["id"]: r for r in map(json.loads, listed.stdout.splitlines())}
    first, second = (by_id[i] for i in ids if i is not None)
    as_api = {"citations", "short_answer", "related"}
    assert {k: first[k] for k in as_api} == cited.model_dump(mode="json", include=as_api)
    assert {k: second[k] for k in as_api} == refusal.model_dump(mode="json", include=as_api)
    assert first["short_answer"] == {"text": "Alpha", "source": "a.txt", "start": 0, "end": 5}
    assert second["related"][0]["quote"] == "Alpha" and second["short_answer"] is None


def test_feedback_commands_explain_a_missing_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["feedback", "list", "--index-dir", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no answers database" in result.output
    bad = CliRunner().invoke(cli, ["feedback", "export", "--out", "x.csv", "--db", "y"])
    assert bad.exit_code == 2 and "--out must be a .jsonl file" in bad.output


def test_served_answers_drop_a_short_answer_that_is_not_its_span(
    seed_pipeline: Pipeline, store: AnswerLog
) -> None:
    served = ServedAnswers(seed_pipeline, store)
    answer = seed_pipeline.chain.invoke({"question": QUESTION, "history": []})
    source = answer.citations[0].source
    text = seed_pipeline.store.require_snapshot().document_text(source)
    start = text.index("Steve Witkoff")
    right = ShortAnswer(text="Steve Witkoff", source=source, start=start, end=start + 13)
    wrong = right.model_copy(update={"text": "Marco Rubio"})
    kept = served.keep(answer.model_copy(update={"short_answer": right}), QUESTION, [])
    dropped = served.keep(answer.model_copy(update={"short_answer": wrong}), QUESTION, [])
    assert kept.short_answer == right and dropped.short_answer is None
    assert kept.id and dropped.id
    stored = store.get(dropped.id)
    assert stored is not None and stored.short_answer is None  # stored as served


# --- ratings given on the chat page (Gradio events, not /api/feedback) ---


def chat_event(
    client: TestClient,
    elem_id: str,
    event: str,
    data: list[Any],
    event_data: Any = None,
    session: str = "chat-session",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the chat page's `event` on `elem_id` sends back to the browser, through Gradio's queue
    as the page calls it (join, then read the session's event stream)."""
    config = client.get("/config").json()
    (component,) = [c["id"] for c in config["components"] if c["props"].get("elem_id") == elem_id]
    (dependency,) = [d for d in config["dependencies"] if [component, event] in d["targets"]]
    body = {
        "data": data,
        "event_data": event_data,
        "fn_index": dependency["id"],
        "trigger_id": component,
        "session_hash": session,
    }
    joined = client.post("/gradio_api/queue/join", json=body, headers=headers)
    assert joined.status_code == 200, joined.text
    # read to the end: the stream closes once the session has no event left
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as sse:
        lines = [line for line in sse.iter_lines() if line.startswith("data: ")]
    messages = [json.loads(line[len("data: ") :]) for line in lines]
    (completed,) = [m for m in messages if m["msg"] == "process_completed"]
    # the page's toasts (gr.Info, gr.Warning) arrive as "log" messages
    toasts = [f"{m['level']}: {m['log']}" for m in messages if m["msg"] == "log"]
    result: dict[str, Any] = {**completed, "toasts": toasts}
    return result


def rate_in_chat(
    client: TestClient, served: dict[str, Any], liked: str, **kwargs: Any
) -> dict[str, Any]:
    """👍 ("Like"), 👎 ("Dislike") or a thumb un-pressed ("") on `served` as the only answer of
    the chat (no comment box open)."""
    turns = [{"question": served["question"], "answer": served, "error": None}]
    like = {"index": [1, None], "value": served["answer"], "liked": liked}
    return chat_event(client, "rag-chatbot", "like", [turns, None], like, **kwargs)


def test_chat_ratings_draw_on_the_feedback_budget_of_the_api(
    seed_pipeline: Pipeline, store: AnswerLog
) -> None:
    # The tests run with RAG_RATE_LIMIT=off: the chat's ratings, like /api/feedback's, stay limited.
    app = create_app(seed_pipeline, examples=[], answer_log=store)
    with peer(app, "203.0.113.40") as client:
        served = ask(client)
        rating = {"answer_id": served["id"], "rating": "up", "comment": "kept"}
        assert all(client.post("/api/feedback", json=rating).status_code == 200 for _ in range(20))
        assert all(rate_in_chat(client, served, "Like")["success"] for _ in range(9))
        # the last rating of the 30 opens the comment box; its comment is a post of its own
        assert rate_in_chat(client, served, "Like")["success"]
        comment = chat_event(client, "rag-comment", "submit", [None, "too late"])
        disliked = rate_in_chat(client, served, "Dislike")
        for refused in (comment, disliked):
            assert refused["success"] and "Traceback" not in json.dumps(refused)
            (toast,) = refused["toasts"]
            assert toast.startswith("warning: Too much feedback: the limit is 30 per 1 minute")
        # the comment stays in its box; the thumbs show the stored rating again (none here)
        assert comment["output"]["data"][1] == {"__type__": "update"}  # text and box untouched
        turns, _, _, thumbs = disliked["output"]["data"]
        assert turns[0]["rating"] is None and thumbs["feedback_value"] == [None]
        assert_api_error(client.post("/api/feedback", json=rating), 429, "rate_limited")
    kept = store.get(served["id"])
    assert kept is not None and (kept.rating, kept.comment) == ("up", "")  # nothing lost


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_chat_rating_budget(
    seed_pipeline: Pipeline,
) -> None:
    app = app_with(seed_pipeline, feedback_rate_limit="2/minute", trusted_proxies=["10.1.2.3"])
    with peer(app, "10.1.2.3") as proxy:
        served = ask(proxy)
        first, second = ({"x-forwarded-for": f"192.0.2.{n}"} for n in (1, 2))
        ratings = [rate_in_chat(proxy, served, "Like", headers=first) for _ in range(3)]
        assert [r["toasts"] for r in ratings[:2]] == [[], []]
        assert "Too much feedback" in ratings[2]["toasts"][0]
        assert rate_in_chat(proxy, served, "Like", headers=second)["toasts"] == []


def test_a_withdrawn_chat_rating_spends_no_feedback_budget_and_is_taken_over_it(
    seed_pipeline: Pipeline, store: AnswerLog
) -> None:
    """Un-pressing a thumb ("liked": "") removes the stored rating: it adds nothing to the
    answers database, so it is neither counted in the feedback budget nor refused by it."""
    app = app_with(seed_pipeline, feedback_rate_limit="2/minute", feedback_db=store.path)
    with peer(app, "203.0.113.41") as client:
        served = ask(client)
        assert rate_in_chat(client, served, "Like")["toasts"] == []  # the budget's first
        withdrawn = rate_in_chat(client, served, "")
        assert withdrawn["toasts"] == [] and store.rated() == []
        assert withdrawn["output"]["data"][0][0]["rating"] is None
        assert rate_in_chat(client, served, "Dislike")["toasts"] == []  # the second, not third
        refused = rate_in_chat(client, served, "Like")
        assert "Too much feedback" in refused["toasts"][0]
        assert [a.rating for a in store.rated()] == ["down"]
        over = rate_in_chat(client, served, "")  # over the budget, a withdrawal is still taken
        assert over["toasts"] == [] and store.rated() == []
