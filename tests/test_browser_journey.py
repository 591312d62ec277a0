"""A new user's journey in a real browser, at desktop and phone widths: chips, grouped sources,
memory across reloads, feedback that becomes an evaluation set, share links, the widget demo."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from rag.cli import app as cli
from rag.feedback import AnswerLog, StoredAnswer, open_answer_log
from rag.settings import Settings
from rag.web.server import create_app, local_pages_allowed, serve_in_background
from tests.browser_support import BROWSER_MARKS, Watch, ask_in_chat, doc_shot, host_site
from tests.conftest import ROOT, MakePipeline

pytestmark = BROWSER_MARKS

QUESTION = "Who is Steve Witkoff?"
LIST_QUESTION = "What did the proposed deal aim to do?"
FOLLOW_UP = "What did he spend days doing?"
COMMENT = "It should say who asked him to"
WIDTHS = [pytest.param(1280, 900, id="desktop"), pytest.param(390, 844, id="phone")]
EXAMPLE_PAGE = (ROOT / "ui" / "embed" / "example.html").read_text(encoding="utf-8")
DEFAULT_SERVER = "http://127.0.0.1:7860"  # the address example.html embeds: `rag serve`'s default
Opener = Callable[..., tuple[Any, Watch]]


def rated(answers: AnswerLog, comment: str) -> StoredAnswer:
    """The 👎 with this comment, once the server has stored it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [a for a in answers.rated("down") if a.comment == comment]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no 👎 with the comment {comment!r} was stored")


def finished_reply(page: Any, index: int) -> Any:
    """The index-th finished reply of the chat page (after it has streamed in)."""
    replies = page.locator(
        ".rag-msg.rag-answer:not(.rag-streaming), .rag-msg.rag-refusal, .rag-msg.rag-error"
    )
    replies.nth(index).wait_for(timeout=60_000)
    return replies.nth(index)


def assert_one_line(title: Any) -> None:
    """A long document title stays on one line (cut with an ellipsis), even on a phone."""
    assert title.evaluate("node => getComputedStyle(node).whiteSpace") == "nowrap"
    assert title.evaluate("node => getComputedStyle(node).textOverflow") == "ellipsis"
    assert title.bounding_box()["height"] < 32


def assert_side_by_side(field: Any, button: Any) -> None:
    """The Ask button sits to the right of the input, on the same line."""
    field_box, button_box = field.bounding_box(), button.bounding_box()
    assert button_box["x"] >= field_box["x"] + field_box["width"] - 1
    assert abs(button_box["y"] - field_box["y"]) < 30


def assert_fits(page: Any, width: int) -> None:
    """Nothing is wider than the screen (no sideways scrolling)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def source_starts(reply: Any, selector: str) -> list[int]:
    hrefs = reply.locator(selector).evaluate_all("nodes => nodes.map(n => n.href)")
    return [int(parse_qs(urlsplit(href).query)["start"][0]) for href in hrefs]


def overlapping_icons(page: Any) -> list[str]:
    """Pairs of visible chat icon buttons whose boxes overlap."""
    return list(
        page.evaluate(
            """() => {
              const boxes = [...document.querySelectorAll('#rag-chatbot button')]
                .filter(b => b.offsetParent !== null)
                .map(b => [b.getAttribute('aria-label') || b.title, b.getBoundingClientRect()]);
              const hits = [];
              for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
                const [na, a] = boxes[i], [nb, b] = boxes[j];
                if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
                  hits.push(na + ' / ' + nb);
              }
              return hits;
            }"""
        )
    )


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_chat_chips_sources_memory_feedback_and_eval(
    make_pipeline: MakePipeline, open_page: Opener, tmp_path: Path, width: int, height: int
) -> None:
    from playwright.sync_api import expect

    pipeline = make_pipeline()
    pipeline.ingest()
    answers = open_answer_log(pipeline.settings)
    app = create_app(pipeline, examples=[LIST_QUESTION, QUESTION], answer_log=answers)
    phone = width < 480
    with serve_in_background(app) as url:
        page, watch = open_page(url + "/", width, height)
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        expect(page.locator("footer")).to_have_count(0)  # no "Use via API / Settings"
        expect(page.get_by_text("Use via API")).to_have_count(0)

        # an example chip asks at once: no Ask press
        page.get_by_role("button", name=LIST_QUESTION).click()
        listed = finished_reply(page, 0)
        expect(page.locator(".rag-msg.rag-question").first).to_have_text(LIST_QUESTION)
        # a list answer is a list; its sources: one header for the article, quotes in order
        assert listed.locator("ul.rag-list li").count() >= 3
        expect(listed.locator(".rag-doc")).to_have_count(1)
        expect(listed.locator(".rag-doc-title")).to_have_count(1)
        quotes = listed.locator("details.rag-source")
        assert quotes.count() == listed.locator(".rag-text a.rag-cite").count() >= 4
        starts = source_starts(listed, "details.rag-source a.rag-open")
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
        assert_one_line(listed.locator(".rag-doc-title"))
        quotes.first.locator("summary").click()
        expect(quotes.first.locator("mark")).to_be_visible()

        page.get_by_role("button", name=QUESTION).click()
        witkoff = finished_reply(page, 1)
        expect(witkoff.locator(".rag-text")).to_contain_text("Witkoff")
        expect(witkoff).to_be_in_viewport()  # the answer stays in view, phones included
        assert_side_by_side(page.locator("#rag-question"), page.locator("#rag-ask"))
        assert_fits(page, width)
        assert overlapping_icons(page) == []
        doc_shot(page, "chat-mobile.png" if phone else "chat.png")

        # a reload keeps the conversation, and it is the history the next question gets
        page.reload()
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        expect(page.locator(".rag-msg.rag-question")).to_have_count(2)
        expect(page.locator(".rag-msg.rag-answer ul.rag-list").first).to_be_attached()
        follow_up = ask_in_chat(page, FOLLOW_UP)
        expect(follow_up).to_contain_text("30-day freeze")

        # 👍 on the first two answers, 👎 with a comment on the last, stored by the server
        likes = page.get_by_role("button", name="Like", exact=True).element_handles()
        assert len(likes) == 3  # one per answer
        for like in likes[:2]:
            like.click()
            expect(page.get_by_label("What was good? (optional)")).to_be_visible()
        page.get_by_role("button", name="Dislike", exact=True).last.click()
        comment = page.get_by_label("What was wrong? (optional)")  # the box follows the rating
        expect(comment).to_be_visible()
        comment.fill(COMMENT)
        comment.press("Enter")
        expect(comment).to_be_hidden()
        stored = rated(answers, COMMENT)
        assert stored.question == FOLLOW_UP and "30-day freeze" in stored.answer
        assert [m["content"] for m in stored.history if m["role"] == "user"] == [
            LIST_QUESTION,
            QUESTION,
        ]

        # the share link shows the answer as stored
        with page.expect_popup() as popup:
            page.locator(".rag-share").last.click()
        shared = popup.value
        expect(shared.locator("h1.asked")).to_have_text(FOLLOW_UP)
        expect(shared.locator(".rag-text")).to_contain_text("30-day freeze")
        expect(shared.locator(".rag-doc-title")).to_have_count(1)
        assert_fits(shared, width)
        shared.close()

        # "New conversation" forgets it, also across a reload
        page.click("#rag-clear")
        expect(page.locator(".rag-msg")).to_have_count(0)
        page.reload()
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        page.wait_for_timeout(1000)  # the saved conversation would be restored by now
        expect(page.locator(".rag-msg")).to_have_count(0)

        # Status is a page for people; the JSON stays at /api/health
        page.get_by_role("link", name="Status").click()
        expect(page.locator("h1")).to_have_text("Status")
        expect(page.locator(".status")).to_contain_text("Ready: answering from 1 document")
        watch.assert_clean()

    # the loop: chat → feedback → rag eval
    out = tmp_path / "from-chat.jsonl"
    index = ["--index-dir", str(tmp_path / "index")]
    exported = CliRunner().invoke(cli, ["feedback", "export", "--out", str(out), *index])
    assert exported.exit_code == 0, exported.output
    assert "2 regression check(s) from 👍, 1 to write references for" in exported.output
    report_dir = tmp_path / "report"
    evaluated = CliRunner().invoke(
        cli, ["eval", str(out), "--docs", str(tmp_path / "docs"), *index, "--out", str(report_dir)]
    )
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert report["metrics"]["must_include"] == 1.0 and report["config"]["needs_reference"] == 1
    report_page, report_watch = open_page((report_dir / "report.html").as_uri(), width, height)
    expect(report_page.get_by_text(FOLLOW_UP).first).to_be_attached()
    if not phone:
        doc_shot(report_page, "report.png")
    report_watch.assert_clean()


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_widget_demo_works_with_rag_serve_defaults(
    make_pipeline: MakePipeline, open_page: Opener, width: int, height: int
) -> None:
    from playwright.sync_api import expect

    assert EXAMPLE_PAGE.count(DEFAULT_SERVER) == 1
    pipeline = make_pipeline()
    pipeline.ingest()
    answers = open_answer_log(pipeline.settings)
    default = local_pages_allowed("127.0.0.1", Settings())  # `rag serve` with no settings
    assert default
    app = create_app(
        pipeline, examples=[LIST_QUESTION, QUESTION], answer_log=answers, allow_local_pages=default
    )
    phone = width < 480
    pages: dict[str, str] = {}
    with serve_in_background(app) as app_url, host_site(pages) as site:
        pages["/example.html"] = EXAMPLE_PAGE.replace(DEFAULT_SERVER, app_url)
        page, watch = open_page(site + "/example.html", width, height)
        widget = page.locator(".rag-news-widget")
        widget.locator(".launcher").click()
        widget.get_by_role("button", name=LIST_QUESTION).click()  # a chip asks at once
        reply = widget.locator(".msg.bot").last
        expect(reply.locator(".sources")).to_be_visible(timeout=30_000)
        assert reply.locator("ul.list li").count() >= 3
        expect(reply.locator(".doc")).to_have_count(1)
        assert reply.locator("details.source").count() == reply.locator(".text a.cite").count() >= 4
        starts = source_starts(reply, "details.source a.open-link")
        assert starts == sorted(starts)
        assert_one_line(reply.locator(".doc-title"))
        assert_side_by_side(widget.locator(".input"), widget.locator(".send"))
        assert_fits(page, width)
        if phone:  # the open chat takes the whole screen
            assert widget.locator(".panel").bounding_box()["width"] == width

        reply.get_by_role("button", name="Bad answer").click()
        reply.locator(".comment-input").fill(COMMENT)
        reply.locator(".comment-send").click()
        expect(reply.locator(".thanks")).to_have_text("Thanks, comment saved.")
        assert rated(answers, COMMENT).question == LIST_QUESTION
        expect(reply).to_be_in_viewport()
        doc_shot(page, "widget-mobile.png" if phone else "widget.png")

        # a reload keeps the conversation (this site's localStorage) and the rating given
        page.reload()
        widget.locator(".launcher").click()
        expect(widget.locator(".msg.user")).to_have_count(1)
        kept = widget.locator(".msg.bot").last
        expect(kept.locator(".rate.down")).to_have_attribute("aria-pressed", "true")
        share = kept.locator("a.share").get_attribute("href") or ""
        assert share.startswith(app_url + "/a/")
        widget.locator(".input").fill("What was he lining up support for?")
        widget.locator(".input").press("Enter")
        expect(widget.locator(".msg.bot").last.locator(".sources")).to_be_visible(timeout=30_000)
        assert history_sent_with_last(answers, page) == [LIST_QUESTION]

        widget.locator(".clear").click()
        expect(widget.locator(".msg")).to_have_count(0)
        page.reload()
        widget.locator(".launcher").click()
        expect(widget.locator(".example").first).to_be_visible()
        expect(widget.locator(".msg")).to_have_count(0)
        watch.assert_clean()


def history_sent_with_last(answers: AnswerLog, page: Any) -> list[str]:
    """The user turns sent as history with the widget's last question (read from its store)."""
    share = page.locator(".rag-news-widget a.share").last.get_attribute("href") or ""
    stored = answers.get(share.rsplit("/", 1)[-1])
    assert stored is not None
    return [m["content"] for m in stored.history if m["role"] == "user"]


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_widget_tells_a_blocked_site_from_a_server_that_is_down(
    make_pipeline: MakePipeline, open_page: Opener, width: int, height: int
) -> None:
    from playwright.sync_api import expect

    pipeline = make_pipeline(allowed_origins=["https://news.example"])
    pipeline.ingest()
    pages: dict[str, str] = {}
    app = create_app(pipeline, examples=[QUESTION])
    with host_site(pages) as site:
        with serve_in_background(app) as app_url:
            pages["/example.html"] = EXAMPLE_PAGE.replace(DEFAULT_SERVER, app_url)
            page, watch = open_page(site + "/example.html", width, height)
            widget = page.locator(".rag-news-widget")
            widget.locator(".launcher").click()
            # before any question: this site is not on the server's list; which setting to change
            notice = widget.locator(".notice-box")
            expect(notice).to_contain_text(f"Add {site} to RAG_ALLOWED_ORIGINS")
            widget.locator(".input").fill(QUESTION)
            widget.locator(".input").press("Enter")
            error = widget.locator(".msg.error").last
            expect(error).to_contain_text(f"This site ({site}) is not allowed")
            expect(error).to_contain_text("RAG_ALLOWED_ORIGINS")
            expect(widget.locator(".sources")).to_have_count(0)
        # the server is stopped now: the same page says so, not that the site is refused
        widget.locator(".input").fill(QUESTION)
        widget.locator(".input").press("Enter")
        down = widget.locator(".msg.error").last
        expect(down).to_contain_text(f"Can’t reach the chat server at {app_url}")
        expect(down).not_to_contain_text("RAG_ALLOWED_ORIGINS")
        assert watch.outbound == [] and watch.dialogs == [] and watch.errors == []
