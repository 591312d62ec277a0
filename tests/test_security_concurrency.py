"""Uploads while people ask: 10 operator uploads during 10 clients' questions, on a real server."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SEEDS

pytestmark = pytest.mark.slow  # a real uvicorn server and ten ingests

TOKEN = "operator-secret"
QUESTIONS = ["Who is Steve Witkoff?", "When did Russia seize Crimea?", "Who is Marco Rubio?"]


def article(n: int) -> bytes:
    town = f"Town{n:02d}ville"
    return f"{town} News\nThe bridge in {town} reopened on March {n + 3}, 2025.\n".encode()


def test_ten_uploads_during_ten_clients_questions_lose_nothing(tmp_path: Path) -> None:
    from rag.app import build_pipeline
    from rag.settings import Settings
    from rag.web.server import create_app, serve_in_background

    shutil.copytree(SEEDS, tmp_path / "docs")
    settings = Settings(docs_dir=tmp_path / "docs", index_dir=tmp_path / "index", admin_token=TOKEN)
    pipeline = build_pipeline(settings)
    pipeline.ingest()
    answers: list[dict[str, Any]] = []
    failures: list[str] = []
    uploading = threading.Event()
    uploading.set()

    with serve_in_background(create_app(pipeline, examples=[])) as url:

        def ask(client_no: int) -> None:
            with httpx.Client(base_url=url, timeout=120) as client:
                n = 0
                while uploading.is_set() or n < 3:
                    question = QUESTIONS[(client_no + n) % len(QUESTIONS)]
                    response = client.post("/api/ask", json={"question": question})
                    if response.status_code != 200:
                        failures.append(f"ask {response.status_code}: {response.text}")
                    else:
                        answers.append(response.json())
                    n += 1

        def upload(n: int) -> None:
            with httpx.Client(base_url=url, timeout=300) as client:
                files = {"file": (f"bridge-{n}.txt", article(n), "text/plain")}
                response = client.post(
                    "/api/documents", files=files, headers={"authorization": f"Bearer {TOKEN}"}
                )
                if response.status_code != 201:
                    failures.append(f"upload {n} {response.status_code}: {response.text}")

        askers = [threading.Thread(target=ask, args=(c,)) for c in range(10)]
        uploaders = [threading.Thread(target=upload, args=(n,)) for n in range(10)]
        for thread in askers + uploaders:
            thread.start()
        for thread in uploaders:
            thread.join()
        uploading.clear()
        for thread in askers:
            thread.join()

        assert failures == []
        assert len(answers) >= 30
        snapshot = pipeline.store.require_snapshot()
        for answer in answers:  # every citation is still the exact slice of its document
            assert answer["citations"], answer["question"]
            for c in answer["citations"]:
                assert snapshot.document_text(c["source"])[c["start"] : c["end"]] == c["quote"]
        names = {f"bridge-{n}.txt" for n in range(10)}
        assert names <= set(snapshot.documents)  # nothing lost
        with httpx.Client(base_url=url, timeout=60) as client:
            listed = client.get("/api/documents", headers={"authorization": f"Bearer {TOKEN}"})
            assert names <= {d["name"] for d in listed.json()["documents"]}
            for n in (0, 9):
                answer = client.post(
                    "/api/ask",
                    json={"question": f"When did the bridge in Town{n:02d}ville reopen?"},
                ).json()
                assert f"March {n + 3}" in answer["answer"]
                assert answer["citations"][0]["source"] == f"bridge-{n}.txt"
