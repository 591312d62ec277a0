"""Shared fixtures: offline guard, the real packaged model, seed indexes in tmp dirs."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from rag.app import Pipeline
    from rag.embeddings import SentenceEmbeddings
    from tests.browser_support import Watch

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"

for key, value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ[key] = value
for key in list(os.environ):
    if key.startswith("RAG_") or key.startswith("LANGSMITH") or key.startswith("LANGCHAIN_"):
        del os.environ[key]
# Tests send many requests from one address: the rate limit is off unless a test turns it on
# (tests/test_security_access.py checks the default of 60 a minute and the 429s).
os.environ["RAG_RATE_LIMIT"] = "off"


def _is_loopback(host: object) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name in {"localhost", "", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkBlocked(RuntimeError):
    """A test tried to reach a host other than this machine."""


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection or lookup that leaves the machine (catches hub/telemetry calls)."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: tuple[Any, ...] | str | bytes) -> None:
        inet = self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple)
        if inet and not _is_loopback(address[0]):
            raise NetworkBlocked(f"test tried to connect to {address!r}")
        real_connect(self, address)

    def guarded_getaddrinfo(host: bytes | str | None, *args: Any, **kwargs: Any) -> object:
        if not _is_loopback(host):
            raise NetworkBlocked(f"test tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts in its own empty folder (no .env or index from the checkout)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embeddings() -> SentenceEmbeddings:
    from rag.embeddings import load_embeddings

    return load_embeddings("all-MiniLM-L6-v2")


class MakePipeline(Protocol):
    """The `make_pipeline` fixture: a pipeline over `docs` with Settings `overrides`."""

    def __call__(self, docs: Path | None = None, **overrides: Any) -> Pipeline: ...


@pytest.fixture
def make_pipeline(tmp_path: Path, embeddings: SentenceEmbeddings) -> MakePipeline:
    """Build a pipeline over a docs folder (default: a copy of seeds/) in tmp_path."""
    from rag.app import build_pipeline
    from rag.settings import Settings

    def factory(docs: Path | None = None, **overrides: Any) -> Pipeline:
        if docs is None:
            docs = tmp_path / "docs"
            if not docs.exists():
                shutil.copytree(SEEDS, docs)
        settings = Settings(**{"docs_dir": docs, "index_dir": tmp_path / "index", **overrides})
        return build_pipeline(settings)

    return factory


@pytest.fixture(scope="session")
def seed_pipeline(
    tmp_path_factory: pytest.TempPathFactory, embeddings: SentenceEmbeddings
) -> Iterator[Pipeline]:
    """One indexed copy of the seed shared by read-only tests."""
    from rag.app import build_pipeline
    from rag.settings import Settings

    base = tmp_path_factory.mktemp("seed")
    shutil.copytree(SEEDS, base / "docs")
    pipeline = build_pipeline(Settings(docs_dir=base / "docs", index_dir=base / "index"))
    pipeline.ingest()
    yield pipeline


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium (Playwright never downloads a browser here)."""
    from playwright.sync_api import sync_playwright

    from tests.browser_support import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., tuple[Any, Watch]]]:
    """Open a URL in a fresh context that blocks and records any non-loopback request."""
    from tests.browser_support import LOCAL_HOSTS, Watch

    contexts = []

    def opener(url: str, width: int = 1280, height: int = 1000) -> tuple[Any, Watch]:
        watch = Watch()
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)

        def guard(route: Any) -> None:
            parts = urlsplit(route.request.url)
            if parts.scheme in {"data", "blob", "file"} or parts.hostname in LOCAL_HOSTS:
                route.continue_()
            else:
                watch.outbound.append(route.request.url)
                route.abort()

        context.route("**/*", guard)

        def on_page(page: Any) -> None:
            def on_dialog(dialog: Any) -> None:
                watch.dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.on("pageerror", lambda error: watch.errors.append(str(error)))

        context.on("page", on_page)
        page = context.new_page()
        page.goto(url)
        return page, watch

    yield opener
    for context in contexts:
        context.close()
