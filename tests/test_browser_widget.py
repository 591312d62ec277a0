"""Headless Debian Chromium: the widget on host pages of this machine, its title and its limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rag.app import Pipeline
from rag.web.server import create_app, local_pages_allowed, serve_in_background
from rag.web.widget import iframe_snippet
from tests.browser_support import BROWSER_MARKS, Watch, ask_in_widget, host_site, shot
from tests.conftest import ROOT

QUESTION = "Who is Steve Witkoff?"
EXAMPLE_PAGE = (ROOT / "ui" / "embed" / "example.html").read_text(encoding="utf-8")
DEFAULT_SERVER = "http://127.0.0.1:7860"
DEFAULT_TITLE = 'data-title="Ask the news"'
pytestmark = BROWSER_MARKS

Opener = Callable[..., tuple[Any, Watch]]


def example_page(app_url: str, attributes: str = DEFAULT_TITLE) -> str:
    """ui/embed/example.html pointed at `app_url`, its script tag's data-* set to `attributes`."""
    assert EXAMPLE_PAGE.count(DEFAULT_SERVER) == EXAMPLE_PAGE.count(DEFAULT_TITLE) == 1
    return EXAMPLE_PAGE.replace(DEFAULT_SERVER, app_url).replace(DEFAULT_TITLE, attributes)


@contextmanager
def widget_on_a_page(
    make_pipeline: Callable[..., Pipeline],
    open_page: Opener,
    attributes: str = DEFAULT_TITLE,
    page_host: str = "127.0.0.1",
    **settings: Any,
) -> Iterator[tuple[Any, Watch, str]]:
    """(page, watch, app URL): the seed indexed with `settings`, served with pages of this machine
    allowed, and example.html (script `attributes`) opened from another port on `page_host`."""
    pipeline = make_pipeline(**settings)
    pipeline.ingest()
    local = local_pages_allowed("127.0.0.1", pipeline.settings)  # as `rag serve` decides
    assert local
    app = create_app(pipeline, examples=[QUESTION], allow_local_pages=local)
    pages: dict[str, str] = {}
    with serve_in_background(app) as app_url, host_site(pages) as site:
        pages["/example.html"] = example_page(app_url, attributes)
        page, watch = open_page(site.replace("127.0.0.1", page_host) + "/example.html")
        yield page, watch, app_url


def console_of(page: Any) -> list[str]:
    """The console messages `page` logs from now on (its frames' too)."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    return messages


def test_with_api_keys_the_widget_on_a_page_of_this_machine_answers(
    make_pipeline: Callable[..., Pipeline], open_page: Opener
) -> None:
    """`RAG_API_KEYS=k1,k2 rag serve` says pages on this machine may embed the widget: one served
    from http://localhost:<another port> gets its page token, its example questions and answers."""
    from playwright.sync_api import expect

    with widget_on_a_page(make_pipeline, open_page, page_host="localhost", api_keys="k1,k2") as (
        page,
        watch,
        _,
    ):
        widget = page.locator(".rag-news-widget")
        widget.locator(".launcher").click()
        expect(widget.get_by_role("button", name=QUESTION)).to_be_visible()
        expect(widget.locator(".notice-box")).to_have_count(0)
        reply = ask_in_widget(widget, QUESTION)
        expect(reply).to_contain_text("Witkoff")
        expect(reply.locator("a.cite").first).to_be_visible()
        shot(page, "widget-keys-local-page.png")
        watch.assert_clean()


def test_the_widget_refuses_a_question_over_the_servers_limit_without_asking_it(
    make_pipeline: Callable[..., Pipeline], open_page: Opener
) -> None:
    """RAG_MAX_QUESTION_CHARS reaches the widget (examples off too): a pasted question over it is
    kept whole in the box, the widget's notice says how long it is, and nothing is asked; cut to
    size, it is asked."""
    from playwright.sync_api import expect

    attributes = 'data-examples="false"'
    with widget_on_a_page(make_pipeline, open_page, attributes, max_question_chars=120) as (
        page,
        watch,
        _,
    ):
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/api/ask" in r.url else None)
        widget = page.locator(".rag-news-widget")
        with page.expect_response(lambda response: "/api/examples" in response.url):
            widget.locator(".launcher").click()  # the limit comes with the examples
        pasted = ("Why did the talks in London stall this week " * 60)[:2500]
        box = widget.locator(".input")
        box.fill(pasted)
        box.press("Enter")
        notice = widget.locator(".notice-box")
        expect(notice).to_have_text(
            "The question is too long (2,500 characters; the limit is 120): shorten it."
        )
        expect(box).to_have_value(pasted)  # whole: nothing cut, nothing lost
        expect(widget.locator(".msg.user")).to_have_count(0)
        shot(page, "widget-question-too-long.png")
        assert asked == []

        reply = ask_in_widget(widget, QUESTION)  # within the limit: asked, and the notice goes
        expect(reply).to_contain_text("Witkoff")
        expect(notice).to_have_count(0)
        assert len(asked) == 1
        box.fill(pasted)  # under a conversation, the notice shows below its last answer
        box.press("Enter")
        expect(notice).to_be_in_viewport()
        expect(widget.locator(".msg.user")).to_have_count(1)
        assert len(asked) == 1
        # a script element's text is not counted: the server drops it, so the widget asks
        scripted = "<script>" + "x" * 300 + "</script> " + QUESTION
        reply = ask_in_widget(widget, scripted)
        expect(reply).to_contain_text("Witkoff")
        assert len(asked) == 2
        watch.assert_clean()


def test_widget_frame_policy_is_valid_and_says_which_pages_may_frame_it(
    seed_pipeline: Pipeline, open_page: Opener
) -> None:
    """/widget's frame-ancestors holds only source expressions browsers accept (no console
    error): a page on http://localhost:<port> frames it; http://[::1] pages cannot (CSP has no
    IPv6 addresses) but may use the script widget, as the README and /embed say."""
    from playwright.sync_api import expect

    app = create_app(seed_pipeline, examples=[QUESTION], allow_local_pages=True)
    pages: dict[str, str] = {"/": "<!doctype html><title>blank</title>"}
    with serve_in_background(app) as app_url:
        pages["/iframe.html"] = f"<!doctype html><body>{iframe_snippet(app_url)}</body>"
        pages["/example.html"] = example_page(app_url)
        with host_site(pages) as site:
            page, watch = open_page(site.replace("127.0.0.1", "localhost") + "/")
            console = console_of(page)
            page.goto(site.replace("127.0.0.1", "localhost") + "/iframe.html")
            frame = page.frame_locator("iframe")
            expect(frame.locator(".input")).to_be_visible()
            expect(frame.get_by_role("button", name=QUESTION)).to_be_visible()
            assert not [m for m in console if "Content-Security-Policy" in m], console
            watch.assert_clean()

        with host_site(pages, host="::1") as ipv6_site:
            page, watch = open_page(ipv6_site + "/")
            console = console_of(page)
            page.goto(ipv6_site + "/iframe.html")
            page.wait_for_timeout(1_000)
            refused = [m for m in console if "frame-ancestors" in m]
            assert refused and all("violates" in m for m in refused), console
            assert page.frames[-1].locator(".input").count() == 0  # not framed
            page.goto(ipv6_site + "/example.html")  # the script widget works there
            widget = page.locator(".rag-news-widget")
            widget.locator(".launcher").click()
            expect(widget.get_by_role("button", name=QUESTION)).to_be_visible()
            watch.assert_clean()
            embed = page.context.new_page()
            embed.goto(app_url + "/embed")
            allowed = embed.locator("#allowed-sites")
            expect(allowed).to_contain_text("http://localhost:")
            expect(allowed).to_contain_text("[::1]")
            expect(allowed).to_contain_text("not in an iframe")


def test_the_launcher_shows_the_title_whole_or_ellipsised_on_a_phone(
    seed_pipeline: Pipeline, open_page: Opener
) -> None:
    """`data-title` names the corner button as well as the panel; a long title stays on one line
    inside a 390 px screen, ellipsised, and whole in its tooltip."""
    from playwright.sync_api import expect

    long_title = "The Daily Example newsroom archive, every story since 1998"
    app = create_app(seed_pipeline, examples=[QUESTION], allow_local_pages=True)
    pages: dict[str, str] = {}
    with serve_in_background(app) as app_url, host_site(pages) as site:
        pages["/short.html"] = example_page(app_url, 'data-title="Newsroom archive"')
        pages["/long.html"] = example_page(app_url, f'data-title="{long_title}"')
        page, watch = open_page(site + "/short.html")
        launcher = page.locator(".rag-news-widget .launcher")
        expect(launcher).to_have_text("Newsroom archive")
        launcher.click()
        expect(page.locator(".rag-news-widget .title")).to_have_text("Newsroom archive")
        watch.assert_clean()

        for width in (1280, 390):
            phone, phone_watch = open_page(site + "/long.html", width, 800)
            button = phone.locator(".rag-news-widget .launcher")
            expect(button).to_have_text(long_title)
            expect(button).to_have_attribute("title", long_title)
            box = button.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
            assert box["height"] < 60, box  # one line
            clipped = button.evaluate("node => node.scrollWidth > node.clientWidth")
            style = button.evaluate("node => getComputedStyle(node).textOverflow")
            assert style == "ellipsis" and (clipped or width > 480), (width, clipped)
            shot(phone, f"widget-launcher-title-{width}.png")
            phone_watch.assert_clean()


def test_reopened_over_the_rate_limit_the_widget_keeps_its_examples(
    make_pipeline: Callable[..., Pipeline], open_page: Opener
) -> None:
    """Opening the widget fetches the examples again; refused (429), it keeps the ones it shows."""
    import httpx
    from playwright.sync_api import expect

    with widget_on_a_page(make_pipeline, open_page, "", rate_limit="4/minute") as (
        page,
        watch,
        app_url,
    ):
        widget = page.locator(".rag-news-widget")
        launcher = widget.locator(".launcher")
        with page.expect_response(lambda response: "/api/examples" in response.url):
            launcher.click()
        chip = widget.locator(".example", has_text=QUESTION)
        expect(chip).to_be_visible()
        widget.locator(".close").click()
        while httpx.get(app_url + "/api/health").status_code != 429:  # this machine's budget
            pass
        with page.expect_response(lambda r: "/api/examples" in r.url and r.status == 429):
            launcher.click()
        expect(chip).to_be_visible()
        watch.assert_clean()
