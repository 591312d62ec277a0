"""Load: 20 concurrent REST clients while an ingest swaps the index under them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.bench.corpus import write_corpus
from rag.bench.load import run_load
from rag.bench.serve import start_serve
from tests.chroma_server import ChromaServer
from tests.conftest import ROOT, SEEDS


def seed_questions() -> list[str]:
    lines = (ROOT / "eval" / "seed_article.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def citation_checker(docs: Path) -> Any:
    """A check that every citation quotes its document's text exactly (.txt files only here)."""
    texts: dict[str, str] = {}

    def check(answer: dict[str, Any]) -> str | None:
        for c in answer["citations"]:
            if c["source"] not in texts:
                texts[c["source"]] = (docs / c["source"]).read_text(encoding="utf-8")
            if texts[c["source"]][c["start"] : c["end"]] != c["quote"]:
                return f"citation [{c['n']}] is not the slice {c['start']}-{c['end']}"
        if answer["refused"] == bool(answer["citations"]):
            return "a refusal must have no citations and an answer at least one"
        return None

    return check


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "per_client"), [("embedded", 100), ("server", 100)])
def test_concurrent_clients_during_an_ingest_see_no_errors(
    tmp_path: Path, mode: str, per_client: int
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    extra = write_corpus(tmp_path / "extra", 40)  # indexed while the clients ask
    server = ChromaServer(tmp_path / "chroma-data").start() if mode == "server" else None
    env = {"RAG_DOCS_DIR": str(docs), "RAG_INDEX_DIR": str(tmp_path / "index")}
    if server:
        env["RAG_CHROMA_URL"] = server.url
    serve = start_serve(env, log=tmp_path / "serve.log")
    try:
        for path in (tmp_path / "extra" / "docs").iterdir():
            shutil.copy(path, docs / path.name)
        ingest_done: dict[str, Any] = {}

        def ingest() -> None:
            ingest_done["run"] = subprocess.run(
                [sys.executable, "-m", "rag", "ingest", "--json"],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
            )
            ingest_done["at"] = time.monotonic()

        writer = threading.Thread(target=ingest)
        writer.start()
        new_questions = [json.loads(line)["question"] for line in extra.read_text().splitlines()]
        questions = seed_questions() + new_questions[:20]
        result = run_load(
            serve.url, questions, 20, per_client=per_client, check=citation_checker(docs)
        )
        load_ended = time.monotonic()
        writer.join()
        assert ingest_done["at"] < load_ended, "the ingest did not overlap the load"
        run = ingest_done["run"]
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["added"] == 40
        assert result.errors == []
        assert len(result.latencies_ms) == 20 * per_client
        # After the swap the server answers from the new generation without a restart.
        with httpx.Client(base_url=serve.url, timeout=30) as client:
            health = client.get("/api/health").json()
            assert health["documents"] == 41
            answer = client.post("/api/ask", json={"question": new_questions[0]}).json()
            assert answer["citations"] and answer["citations"][0]["source"].startswith("news-")
    finally:
        serve.stop()
        if server:
            server.stop()
