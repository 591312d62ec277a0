"""What the browser tests share: headless Debian Chromium, an offline guard, host sites, shots."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SHOTS = ROOT / "screenshots"  # git-ignored: every shot of every run
DOCS = ROOT / "docs"  # the README's screenshots, rewritten by every run
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium (.ci/run installs it)"),
]


@dataclass
class Watch:
    """What a page did that it must not: leave the machine, open dialogs, throw errors."""

    outbound: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.outbound == [], "requests left the machine"
        assert self.dialogs == [], "a script ran and opened a dialog"
        assert self.errors == [], "the page threw"


class IPv6HTTPServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextmanager
def host_site(pages: dict[str, str], host: str = "127.0.0.1") -> Iterator[str]:
    """Another origin (its own port) serving the given pages, e.g. a news site's; `host` "::1"
    serves them on IPv6 loopback."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "not found").encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = (IPv6HTTPServer if ":" in host else ThreadingHTTPServer)((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def doc_shot(page: Any, name: str) -> None:
    """A screenshot the README shows (docs/NAME), kept true by every run."""
    page.screenshot(path=str(DOCS / name))


def ask_in_chat(page: Any, question: str) -> Any:
    """Type a question into the chat page; return the finished reply's locator."""
    before = page.locator(".rag-msg.rag-answer, .rag-msg.rag-refusal, .rag-msg.rag-error").count()
    page.fill("#rag-question textarea", question)
    page.click("#rag-ask")
    finished = page.locator(
        ".rag-msg.rag-answer:not(.rag-streaming), .rag-msg.rag-refusal, .rag-msg.rag-error"
    )
    finished.nth(before).wait_for(timeout=60_000)  # the machine may be busy
    return finished.nth(before)


def ask_in_widget(widget: Any, question: str) -> Any:
    """Type a question into an opened widget; return its reply's locator once sources show."""
    from playwright.sync_api import expect

    widget.locator(".input").fill(question)
    widget.locator(".input").press("Enter")
    reply = widget.locator(".msg.bot").last
    expect(reply.locator(".sources")).to_be_visible(timeout=60_000)  # the machine may be busy
    return reply
