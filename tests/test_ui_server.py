"""The launched app: the /chat Gradio API through gradio_client, and `rag serve` end to end."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.app import Pipeline
from rag.models import Answer
from rag.web.server import create_app, serve_in_background
from tests.conftest import SEEDS

QUESTION = "Who is Steve Witkoff?"


@pytest.fixture(scope="module")
def app_url(seed_pipeline: Pipeline) -> Iterator[str]:
    with serve_in_background(create_app(seed_pipeline, examples=[QUESTION])) as url:
        yield url


@pytest.mark.slow
def test_chat_api_through_gradio_client(app_url: str, seed_pipeline: Pipeline) -> None:
    from gradio_client import Client

    client = Client(app_url + "/", verbose=False, download_files=False)
    assert "/chat" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    answer = client.predict(question=QUESTION, history=[], api_name="/chat")
    expected = seed_pipeline.chain.invoke({"question": QUESTION}).model_dump(mode="json")
    assert answer["answer"] == expected["answer"]
    assert answer["citations"] == expected["citations"]

    history = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": answer["answer"]},
    ]
    follow_up = client.predict(
        question="What did he spend days doing?", history=history, api_name="/chat"
    )
    assert "30-day freeze" in follow_up["answer"]

    with pytest.raises(Exception, match="The question is empty"):
        client.predict(question="  ", history=[], api_name="/chat")


@pytest.mark.slow
def test_several_users_are_answered_at_once(
    app_url: str, seed_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight concurrent HTTP clients all get complete, identical answers, all in flight at once."""
    from concurrent.futures import ThreadPoolExecutor

    # Each request waits in the chain until all eight are there: a server that answered them
    # one at a time would never get the eight together, and the barrier would break.
    together = threading.Barrier(8, timeout=20)
    answer_alone = seed_pipeline.chain.invoke

    def answer_together(*args: Any, **kwargs: Any) -> Answer:
        together.wait()
        return answer_alone(*args, **kwargs)

    monkeypatch.setattr(seed_pipeline.chain, "invoke", answer_together)

    def ask(_: int) -> str:
        request = urllib.request.Request(
            app_url + "/api/ask",
            data=json.dumps({"question": QUESTION}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return str(json.load(response)["answer"])

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert not together.broken and together.n_waiting == 0
    assert len(set(answers)) == 1 and "[1]" in answers[0]


def wait_for_line(process: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    """The first stdout line starting with `prefix` (fails if the process dies first)."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(prefix):
            return line
        if not line and process.poll() is not None:
            stderr = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"rag serve exited {process.returncode}: {stderr}")
    raise AssertionError(f"no {prefix!r} line within {timeout} s")


@pytest.mark.slow
def test_rag_serve_indexes_prints_the_url_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "docs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--port", "0", "--docs", "docs",
         "--index-dir", "index"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = wait_for_line(process, "Chat: ", timeout=120)
        url = line.split()[1].rstrip("/")
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/api/health", timeout=30) as response:
            health = json.load(response)
        assert health["index_loaded"] and health["documents"] == 1  # indexed on start
        request = urllib.request.Request(
            url + "/api/ask",
            data=json.dumps({"question": QUESTION}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["citations"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130  # the shell's code for "stopped by Ctrl-C"
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_rag_serve_on_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "rag", "serve", "--port", str(port)],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 1
    expected = f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert result.stderr.strip() == expected
