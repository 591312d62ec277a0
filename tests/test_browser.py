"""Headless Debian Chromium through Playwright: the chat page, the embedded widget, hostile text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from rag.app import Pipeline
from rag.cli import app as cli
from rag.web.render import RELATED_LABEL
from rag.web.server import create_app, serve_in_background
from rag.web.widget import iframe_snippet
from tests.browser_support import (
    BROWSER_MARKS,
    Watch,
    ask_in_chat,
    ask_in_widget,
    host_site,
    shot,
)
from tests.conftest import ROOT
from tests.test_ui_chat_ratings import listed
from tests.test_ui_examples import HARBOUR

QUESTION = "Who is Steve Witkoff?"
HOLLOWAY = "Who is Jane Holloway?"
ADMIN_TOKEN = "operator-secret"
pytestmark = BROWSER_MARKS

# Every payload sets window.__xss before alerting, so executing any of them is detectable.
HOSTILE_DOCUMENT = """Zorblax Harbour Festival Opens With Record Crowds
The Zorblax harbour festival opened on Saturday with a record crowd of 12,000 visitors.
The festival director, Mira Quell, announced the lineup with \
<script>window.__xss = "script"; alert("script")</script> and the poster \
<img src=x onerror="window.__xss = 'img'; alert('img')"> and \
[the programme](javascript:window.__xss='link';alert('link')) on the main stage.
The parade of decorated fishing boats closes the festival on Sunday evening.
"""
HOSTILE_NAME = "zorblax <img src=x onerror=alert(9)>.txt"
HOSTILE_LITERALS = [
    '<script>window.__xss = "script"; alert("script")</script>',
    "<img src=x onerror=\"window.__xss = 'img'; alert('img')\">",
    "[the programme](javascript:window.__xss='link';alert('link'))",
]


def test_chat_page_streams_a_cited_answer_and_opens_its_source(
    seed_pipeline: Pipeline, open_page: Callable[..., tuple[Any, Watch]]
) -> None:
    from playwright.sync_api import expect

    with serve_in_background(create_app(seed_pipeline)) as url:
        page, watch = open_page(url + "/")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        # examples come from the index: the seed names Steve Witkoff
        expect(page.get_by_role("button", name=QUESTION)).to_be_visible()
        page.evaluate(
            """() => {
              window.__partials = [];
              new MutationObserver(() => {
                document.querySelectorAll('.rag-streaming .rag-text').forEach(
                  (node) => window.__partials.push(node.textContent));
              }).observe(document.body, {subtree: true, childList: true, characterData: true});
            }"""
        )
        reply = ask_in_chat(page, QUESTION)
        final_text = reply.locator(".rag-text").inner_text()
        partials = {p.strip() for p in page.evaluate("window.__partials") if p.strip()}
        assert len(partials) >= 2, "the answer should appear piece by piece"
        assert all(final_text.startswith(p) for p in partials)
        assert min(len(p) for p in partials) < len(final_text)

        chips = reply.locator("a.rag-cite")
        sources = reply.locator("details.rag-source")
        assert chips.count() == sources.count() >= 1
        # sources are in document order: find the quote that [1] cites
        first = sources.filter(has=page.locator("summary .rag-cite", has_text="[1]"))
        expect(first.locator("mark")).not_to_be_visible()  # collapsed until asked for
        first.locator("summary").click()
        mark = first.locator("mark")
        expect(mark).to_be_visible()
        quote = mark.inner_text()
        assert quote in final_text  # the chip's sentence is the quoted passage
        section = first.locator(".rag-source-section")
        expect(section).to_have_text("Key Figures: Rubio and Witkoff's Roles")
        shot(page, "chat.png")

        with page.expect_popup() as popup:
            chips.first.click()
        viewer = popup.value
        cite = viewer.locator("mark#cite")
        expect(cite).to_have_text(quote)
        expect(cite).to_be_in_viewport()
        assert "/source/" in viewer.url and "start=" in viewer.url
        shot(viewer, "source-viewer.png")
        viewer.close()

        follow_up = ask_in_chat(page, "What did he spend days doing?")
        expect(follow_up).to_contain_text("30-day freeze")

        refusal = ask_in_chat(page, "What is the boiling point of tungsten?")
        expect(refusal).to_have_class("rag-msg rag-refusal")
        expect(refusal).to_contain_text("Not in the documents")
        assert refusal.evaluate("node => getComputedStyle(node).fontStyle") == "italic"
        assert reply.evaluate("node => getComputedStyle(node).fontStyle") == "normal"
        expect(refusal.locator(".rag-sources")).to_have_count(0)  # nothing on tungsten

        # The article names Zelensky but not his age: the refusal lists what it does say.
        related = ask_in_chat(page, "How old is Volodymyr Zelensky?")
        expect(related).to_have_class("rag-msg rag-refusal")
        expect(related.locator(".rag-sources-label")).to_have_text(RELATED_LABEL)
        expect(related.locator("details.rag-source").first).to_contain_text("Zelensky")
        passages = related.locator(".rag-sources")
        assert passages.evaluate("node => getComputedStyle(node).fontStyle") == "normal"
        shot(page, "chat-refusal-related.png")

        error = ask_in_chat(page, "x" * 2500)
        expect(error).to_contain_text("The question is too long")
        shot(page, "chat-after-follow-ups.png")

        page.click("#rag-clear")
        expect(page.locator(".rag-msg")).to_have_count(0)
        watch.assert_clean()


def test_widget_on_another_site_answers_with_citations(
    make_pipeline: Callable[..., Any], open_page: Callable[..., tuple[Any, Watch]]
) -> None:
    from playwright.sync_api import expect

    example = (ROOT / "ui" / "embed" / "example.html").read_text(encoding="utf-8")
    default_server = "http://127.0.0.1:7860"
    assert example.count(default_server) == 1
    pages: dict[str, str] = {}  # filled once the app's port is known
    with host_site(pages) as news_site:
        pipeline = make_pipeline(allowed_origins=[news_site])
        pipeline.ingest()
        with serve_in_background(create_app(pipeline)) as app_url:
            pages["/example.html"] = example.replace(default_server, app_url)
            pages["/iframe.html"] = f"<!doctype html><body>{iframe_snippet(app_url)}</body>"

            page, watch = open_page(news_site + "/example.html")
            widget = page.locator(".rag-news-widget")
            widget.locator(".launcher").click()
            # example questions are fetched from the app, cross-origin
            expect(widget.locator(".example").first).to_be_visible()
            widget.locator(".input").fill(QUESTION)
            widget.locator(".input").press("Enter")
            reply = widget.locator(".msg.bot").last
            expect(reply.locator(".sources")).to_be_visible(timeout=30_000)
            links = reply.locator("a.cite")
            assert links.count() == reply.locator("details.source").count() >= 1
            assert (links.first.get_attribute("href") or "").startswith(app_url + "/source/")
            reply.locator("details.source summary").first.click()
            expect(reply.locator(".quote").first).to_be_visible()
            shot(page, "widget.png")
            widget.locator(".input").fill("How old is Volodymyr Zelensky?")
            widget.locator(".input").press("Enter")
            refusal = widget.locator(".msg.bot.refusal").last
            expect(refusal.locator(".sources-label")).to_have_text(RELATED_LABEL, timeout=30_000)
            expect(refusal.locator("details.source").first).to_contain_text("Zelensky")
            shot(page, "widget-refusal-related.png")
            watch.assert_clean()

            framed, framed_watch = open_page(news_site + "/iframe.html")
            frame = framed.frame_locator("iframe")
            frame.locator(".input").fill(QUESTION)
            frame.locator(".input").press("Enter")
            expect(frame.locator(".msg.bot .sources")).to_be_visible(timeout=30_000)
            framed_watch.assert_clean()


SHORT_QUESTION = "Which US officials pulled out of the London ceasefire talks?"
SHORT = "Secretary of State Marco Rubio"


def test_a_short_answer_leads_in_bold_once_in_the_chat_and_the_widget(
    seed_pipeline: Pipeline, open_page: Callable[..., tuple[Any, Watch]]
) -> None:
    """By default an answer to a who-question leads with its short answer, in bold; the answer
    text under it starts with the quote, not with that name again; a refusal is unchanged."""
    from playwright.sync_api import expect

    with serve_in_background(create_app(seed_pipeline)) as url:
        page, watch = open_page(url + "/")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        reply = ask_in_chat(page, SHORT_QUESTION)
        expect(reply.locator(".rag-short strong")).to_have_text(SHORT)
        text = reply.locator(".rag-text").inner_text()
        assert text.startswith("Diplomatic efforts") and text.count(SHORT) == 1, text
        shot(page, "chat-short-answer.png")
        refusal = ask_in_chat(page, "How old is Volodymyr Zelensky?")
        expect(refusal).to_have_class("rag-msg rag-refusal")
        expect(refusal.locator(".rag-short")).to_have_count(0)
        expect(refusal.locator(".rag-sources-label")).to_have_text(RELATED_LABEL)
        shot(page, "chat-short-answer-refusal.png")
        watch.assert_clean()

        widget, widget_watch = open_page(url + "/widget")
        widget.locator(".input").fill(SHORT_QUESTION)
        widget.locator(".input").press("Enter")
        bubble = widget.locator(".msg.bot").last
        expect(bubble.locator(".sources")).to_be_visible(timeout=30_000)
        expect(bubble.locator(".short strong")).to_have_text(SHORT)
        text = bubble.locator(".text").inner_text()
        assert text.startswith("Diplomatic efforts") and text.count(SHORT) == 1, text
        shot(widget, "widget-short-answer.png")
        widget.locator(".input").fill("How old is Volodymyr Zelensky?")
        widget.locator(".input").press("Enter")
        refused = widget.locator(".msg.bot.refusal").last
        expect(refused.locator(".sources-label")).to_have_text(RELATED_LABEL, timeout=30_000)
        expect(refused.locator(".short")).to_have_count(0)
        shot(widget, "widget-short-answer-refusal.png")
        widget_watch.assert_clean()


# Finds what hostile text would leave behind if it had become markup, shadow roots included.
FIND_LIVE_MARKUP = """() => {
  const found = [];
  const visit = (root) => {
    for (const node of root.querySelectorAll('*')) {
      if (node.shadowRoot) visit(node.shadowRoot);
      if (node.tagName === 'SCRIPT' && node.textContent.includes('__xss')) found.push('script');
      if (node.tagName === 'IMG' && node.getAttribute('src') === 'x') found.push('img');
      const href = node.getAttribute('href') || '';
      if (href.trim().toLowerCase().startsWith('javascript:')) found.push('javascript: link');
      for (const attr of node.attributes) {
        if (attr.name.startsWith('on')) found.push(node.tagName + ' ' + attr.name);
      }
    }
  };
  visit(document);
  return found;
}"""


def assert_inert(page: Any) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined", "a hostile payload ran"
    assert page.evaluate(FIND_LIVE_MARKUP) == []


def test_hostile_document_and_question_render_as_text_everywhere(
    tmp_path: Path, make_pipeline: Callable[..., Any], open_page: Callable[..., tuple[Any, Watch]]
) -> None:
    from playwright.sync_api import expect

    docs = tmp_path / "hostile"
    docs.mkdir()
    (docs / HOSTILE_NAME).write_text(HOSTILE_DOCUMENT, encoding="utf-8")
    pipeline = make_pipeline(docs)
    pipeline.ingest()
    with serve_in_background(create_app(pipeline)) as url:
        # the chat: answer text and sources panel
        page, watch = open_page(url + "/")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        reply = ask_in_chat(page, "Who is Mira Quell?")
        reply.locator("details.rag-source summary").first.click()
        for literal in HOSTILE_LITERALS:
            expect(reply.locator(".rag-text")).to_contain_text(literal)
            expect(reply.locator(".rag-context").first).to_contain_text(literal)
        expect(reply.locator(".rag-open").first).to_contain_text(HOSTILE_NAME)
        question = "<img src=x onerror=\"window.__xss='q'\"> [x](javascript:window.__xss='q')"
        ask_in_chat(page, question)
        expect(page.locator(".rag-question").last).to_have_text(question)
        shot(page, "hostile-chat.png")
        assert_inert(page)

        # the source viewer the citation links to
        with page.expect_popup() as popup:
            reply.locator("a.rag-cite").first.click()
        viewer = popup.value
        for literal in HOSTILE_LITERALS:
            expect(viewer.locator("#cite")).to_contain_text(literal)
        expect(viewer.locator(".source-name")).to_contain_text(HOSTILE_NAME)
        shot(viewer, "hostile-source.png")
        assert_inert(viewer)
        assert_inert(page)
        watch.assert_clean()

        # the widget (the iframe page renders it inline)
        widget_page, widget_watch = open_page(url + "/widget", width=480, height=800)
        widget = widget_page.locator(".rag-news-widget")
        widget.locator(".input").fill("Who is Mira Quell?")
        widget.locator(".input").press("Enter")
        answer = widget.locator(".msg.bot").last
        expect(answer.locator(".sources")).to_be_visible(timeout=30_000)
        answer.locator("details.source summary").first.click()
        for literal in HOSTILE_LITERALS:
            expect(answer.locator(".text")).to_contain_text(literal)
            expect(answer.locator(".quote").first).to_contain_text(literal)
        widget.locator(".input").fill(question)
        widget.locator(".input").press("Enter")
        expect(widget.locator(".msg.user").last).to_have_text(question)
        expect(widget.locator(".msg.bot").last).not_to_have_class("msg bot streaming")
        shot(widget_page, "hostile-widget.png")
        assert_inert(widget_page)
        widget_watch.assert_clean()


def test_with_api_keys_the_chat_page_and_the_widget_still_answer(
    make_pipeline: Callable[..., Any], open_page: Callable[..., tuple[Any, Watch]]
) -> None:
    """RAG_API_KEYS closes the API to programs without a key, yet a page on an allowed origin
    (the widget) and the app's own chat page answer through their short-lived tokens."""
    import httpx
    from playwright.sync_api import expect

    from rag.feedback import open_answer_log

    example = (ROOT / "ui" / "embed" / "example.html").read_text(encoding="utf-8")
    pages: dict[str, str] = {}
    with host_site(pages) as news_site:
        pipeline = make_pipeline(allowed_origins=[news_site], api_keys="secret-key")
        pipeline.ingest()
        with serve_in_background(create_app(pipeline)) as app_url:
            keyless = httpx.post(app_url + "/api/ask", json={"question": QUESTION})
            assert keyless.status_code == 401  # the key is really required
            pages["/example.html"] = example.replace("http://127.0.0.1:7860", app_url)

            page, watch = open_page(news_site + "/example.html")
            widget = page.locator(".rag-news-widget")
            widget.locator(".launcher").click()
            reply = ask_in_widget(widget, QUESTION)
            # its thumbs use the token too: rated, then withdrawn
            answers = open_answer_log(pipeline.settings)
            good = reply.get_by_role("button", name="Good answer")
            good.click()
            expect(good).to_have_attribute("aria-pressed", "true")
            assert [a.rating for a in answers.rated()] == ["up"]
            good.click()
            expect(good).to_have_attribute("aria-pressed", "false")
            assert answers.rated() == []
            watch.assert_clean()

            chat, chat_watch = open_page(app_url + "/")
            chat.wait_for_selector("#rag-question textarea", timeout=30_000)
            reply = ask_in_chat(chat, QUESTION)
            assert "Witkoff" in reply.inner_text() and "rag-answer" in (
                reply.get_attribute("class") or ""
            )
            chat_watch.assert_clean()


def test_chat_thumbs_show_what_is_stored_withdrawn_over_budget_or_unstored(
    make_pipeline: Callable[..., Any], open_page: Callable[..., tuple[Any, Watch]]
) -> None:
    """A thumb pressed again withdraws its rating (spending no budget, taken over it too); a
    rating over the feedback budget, or on a reply that was not stored, is a clear message and
    the thumbs show what is stored again."""
    from playwright.sync_api import expect

    from rag.feedback import open_answer_log

    # RAG_RATE_LIMIT is off in the tests; the chat's ratings still spend the feedback budget.
    pipeline = make_pipeline(feedback_rate_limit="2/minute")
    pipeline.ingest()
    answers = open_answer_log(pipeline.settings)

    def thumbs(like: str, dislike: str) -> None:
        """The one answer's thumbs are labelled `like` and `dislike` (e.g. "Liked" = pressed)."""
        expect(page.get_by_role("button", name=like, exact=True)).to_be_visible()
        expect(page.get_by_role("button", name=dislike, exact=True)).to_be_visible()

    with serve_in_background(create_app(pipeline, examples=[], answer_log=answers)) as url:
        page, watch = open_page(url + "/")
        page.wait_for_selector("#rag-question textarea", timeout=30_000)
        ask_in_chat(page, QUESTION)
        good = page.get_by_label("What was good? (optional)")
        page.get_by_role("button", name="Like", exact=True).click()  # the budget's first
        expect(good).to_be_visible()
        assert [a.rating for a in answers.rated()] == ["up"]

        # 👍 pressed again withdraws it, not a 👎: nothing stored, nothing pressed, box shut
        page.get_by_role("button", name="Liked", exact=True).click()
        expect(good).to_be_hidden()
        thumbs("Like", "Dislike")
        assert answers.rated() == []
        listed = CliRunner().invoke(cli, ["feedback", "list", "--db", str(answers.path)])
        assert "0 rated answer(s)" in listed.output and "👎" not in listed.output

        page.get_by_role("button", name="Dislike", exact=True).click()  # the budget's second
        expect(page.get_by_label("What was wrong? (optional)")).to_be_visible()
        page.get_by_role("button", name="Like", exact=True).click()  # over it
        toast = page.locator(".toast-body")
        expect(toast).to_contain_text("Too much feedback: the limit is 2 per 1 minute")
        thumbs("Like", "Disliked")  # the thumbs show what is stored again
        shot(page, "chat-feedback-limit.png")
        assert "Traceback" not in toast.inner_text()
        assert [a.rating for a in answers.rated()] == ["down"]  # the rating stored stays

        # a withdrawal adds nothing to the store: it is taken over the budget too
        page.get_by_role("button", name="Disliked", exact=True).click()
        expect(page.get_by_label("What was wrong? (optional)")).to_be_hidden()
        thumbs("Like", "Dislike")
        assert answers.rated() == []

        # a thumb on a reply that was not stored (an error) says so and is not left pressed
        ask_in_chat(page, "x" * 5000)
        page.get_by_role("button", name="Like", exact=True).last.click()
        warning = page.locator(".toast-body").filter(has_text="Only stored answers can be rated")
        expect(warning).to_be_visible()
        expect(page.get_by_role("button", name="Liked", exact=True)).to_have_count(0)
        shot(page, "chat-thumb-not-stored.png")
        assert answers.rated() == []
        watch.assert_clean()


def test_widget_thumbs_withdraw_switch_and_show_what_is_stored(
    make_pipeline: Callable[..., Any], open_page: Callable[..., tuple[Any, Watch]]
) -> None:
    """In the widget on another site, the pressed thumb pressed again withdraws the rating
    (DELETE /api/feedback/<id>, cross-origin); the other thumb switches it; a request that fails
    (the server stopped) says so, and the thumbs show what is stored."""
    from playwright.sync_api import expect

    from rag.feedback import open_answer_log

    example = (ROOT / "ui" / "embed" / "example.html").read_text(encoding="utf-8")
    pages: dict[str, str] = {}
    with host_site(pages) as news_site:
        pipeline = make_pipeline(allowed_origins=[news_site])
        pipeline.ingest()
        answers = open_answer_log(pipeline.settings)
        with serve_in_background(create_app(pipeline, examples=[], answer_log=answers)) as url:
            pages["/example.html"] = example.replace("http://127.0.0.1:7860", url)
            page, watch = open_page(news_site + "/example.html")
            widget = page.locator(".rag-news-widget")
            widget.locator(".launcher").click()
            reply = ask_in_widget(widget, QUESTION)
            up, down = reply.locator(".rate.up"), reply.locator(".rate.down")
            note, comment = reply.locator(".thanks"), reply.locator(".comment-input")

            def pressed(up_pressed: bool, down_pressed: bool) -> None:
                expect(up).to_have_attribute("aria-pressed", str(up_pressed).lower())
                expect(down).to_have_attribute("aria-pressed", str(down_pressed).lower())

            up.click()
            pressed(True, False)
            expect(comment).to_be_visible()
            assert [a.rating for a in answers.rated()] == ["up"]

            up.click()  # 👍 again: withdrawn, not a 👎
            pressed(False, False)
            expect(note).to_have_text("Rating withdrawn.")
            expect(comment).to_be_hidden()
            assert answers.rated() == [] and "0 rated answer(s)" in listed(answers)
            page.reload()  # the page keeps what is stored: nothing
            widget.locator(".launcher").click()
            expect(reply.locator(".sources")).to_be_visible()
            pressed(False, False)

            down.click()
            pressed(False, True)
            assert [a.rating for a in answers.rated()] == ["down"]
            up.click()  # the other thumb switches the rating
            pressed(True, False)
            assert [a.rating for a in answers.rated()] == ["up"]
            shot(page, "widget-thumbs.png")
        # the server is stopped: taking the rating back fails, says so, and 👍 stays pressed
        up.click()
        expect(note).to_have_text("Couldn’t withdraw the rating.")
        pressed(True, False)
        shot(page, "widget-thumb-withdraw-failed.png")
        assert [a.rating for a in answers.rated()] == ["up"]
        watch.assert_clean()


def try_label_fits(page: Any) -> bool:
    """The chips' "Try:" label is whole: inside its box, not clipped to a few characters."""
    return bool(
        page.evaluate(
            """() => {
              const label = document.querySelector('.rag-try');
              const box = document.querySelector('.rag-try-box').getBoundingClientRect();
              const text = label.getBoundingClientRect();
              return label.textContent === 'Try:' && text.width > 0 && label.scrollWidth
                <= Math.ceil(text.width) && text.left >= box.left - 0.5
                && text.right <= box.right + 0.5 && text.left >= 0;
            }"""
        )
    )


def test_example_chips_follow_the_index_in_the_chat_and_the_widget(
    tmp_path: Path, make_pipeline: Callable[..., Any], open_page: Callable[..., tuple[Any, Watch]]
) -> None:
    """A server started on an empty index: no chips; a document uploaded: its questions appear
    on the next page load (and when the widget opens), and a chip still asks; deleted: gone."""
    import httpx
    from playwright.sync_api import expect

    example = (ROOT / "ui" / "embed" / "example.html").read_text(encoding="utf-8")
    docs = tmp_path / "empty"
    docs.mkdir()
    pages: dict[str, str] = {}
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    with host_site(pages) as news_site:
        pipeline = make_pipeline(docs, admin_token=ADMIN_TOKEN, allowed_origins=[news_site])
        with serve_in_background(create_app(pipeline)) as url:
            pages["/example.html"] = example.replace("http://127.0.0.1:7860", url)
            page, watch = open_page(url + "/")
            page.wait_for_selector("#rag-question textarea", timeout=30_000)
            expect(page.get_by_text("Try:")).not_to_be_visible()
            host, host_watch = open_page(news_site + "/example.html")  # the widget, still closed

            files = {"file": ("harbour.md", HARBOUR.encode(), "text/markdown")}
            uploaded = httpx.post(url + "/api/documents", files=files, headers=admin, timeout=60)
            assert uploaded.status_code == 201, uploaded.text

            page.reload()
            expect(page.locator("#rag-header-box")).to_contain_text("quote 1 indexed document")
            chip = page.get_by_role("button", name=HOLLOWAY)
            expect(chip).to_be_visible(timeout=30_000)
            expect(page.locator(".rag-try")).to_be_visible()
            assert try_label_fits(page)
            chip.click()  # asks at once
            reply = page.locator(".rag-msg.rag-answer:not(.rag-streaming)").first
            expect(reply).to_contain_text("Holloway", timeout=60_000)
            expect(page.locator(".rag-msg.rag-question").first).to_have_text(HOLLOWAY)
            shot(page, "chat-examples-after-upload.png")
            watch.assert_clean()

            widget = host.locator(".rag-news-widget")
            widget.locator(".launcher").click()
            expect(widget.get_by_role("button", name=HOLLOWAY)).to_be_visible()
            host_watch.assert_clean()

            for width in (390, 360):  # the chips' row on a phone: "Try:" whole, then chips
                phone, phone_watch = open_page(url + "/", width, 800)
                expect(phone.get_by_role("button", name=HOLLOWAY)).to_be_visible(timeout=30_000)
                assert try_label_fits(phone), width
                shot(phone, f"chat-examples-{width}.png")
                phone_watch.assert_clean()

            deleted = httpx.delete(url + "/api/documents/harbour.md", headers=admin, timeout=60)
            assert deleted.status_code == 200, deleted.text
            page.reload()
            page.wait_for_selector("#rag-question textarea", timeout=30_000)
            expect(page.get_by_role("button", name=HOLLOWAY)).to_have_count(0)
            expect(page.get_by_text("Try:")).not_to_be_visible()
