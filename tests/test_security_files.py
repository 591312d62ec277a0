"""Files stay inside the documents folder: links that leave it, /proc, devices; generations
outlive the questions reading them; bad input in the chat."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pytest

from rag.app import Pipeline
from tests.conftest import SEEDS, MakePipeline

SEED = "us-officials-withdraw-from-london-ceasefire-talks.txt"


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    shutil.copytree(SEEDS, folder)
    return folder


def skipped_reasons(summary: object) -> dict[str, str]:
    return {Path(s["path"]).name: s["reason"] for s in getattr(summary, "skipped", [])}


def test_links_that_leave_the_folder_are_skipped_and_never_served(
    docs: Path, make_pipeline: MakePipeline
) -> None:
    from fastapi.testclient import TestClient

    from rag.web.server import create_app

    (docs / "passwd.txt").symlink_to("/etc/passwd")
    (docs / "environ.txt").symlink_to("/proc/self/environ")
    outside = docs.parent / "outside.md"
    outside.write_text("Secret memo\nThe vault code is 4921.\n")
    (docs / "memo.md").symlink_to(outside)
    (docs / "seed-link.txt").symlink_to(docs / SEED)  # stays inside: allowed
    pipeline = make_pipeline(docs)
    summary = pipeline.ingest()
    reasons = skipped_reasons(summary)
    assert "outside the documents folder" in reasons["passwd.txt"]
    assert "outside the documents folder" in reasons["memo.md"]
    assert "system file" in reasons["environ.txt"]
    assert "seed-link.txt" not in reasons and summary.added == 2
    documents = pipeline.store.require_snapshot().documents
    assert set(documents) == {SEED, "seed-link.txt"}
    with TestClient(create_app(pipeline, examples=[])) as client:
        for name in ("passwd.txt", "environ.txt", "memo.md"):
            page = client.get(f"/source/{name}")
            assert page.status_code == 404 and "root:" not in page.text and "4921" not in page.text


def test_proc_sys_and_devices_are_refused_whatever_the_path(
    docs: Path, make_pipeline: MakePipeline
) -> None:
    pipeline = make_pipeline(docs)
    summary = pipeline.ingest([docs, Path("/proc/self/environ"), Path("/dev/zero")])
    reasons = skipped_reasons(summary)
    assert "system file" in reasons["environ"]
    assert "not a regular file" in reasons["zero"]
    assert set(pipeline.store.require_snapshot().documents) == {SEED}


def test_a_link_to_a_device_inside_the_folder_is_skipped(
    docs: Path, make_pipeline: MakePipeline
) -> None:
    (docs / "random.txt").symlink_to("/dev/urandom")
    os.mkfifo(docs / "pipe.txt")
    summary = make_pipeline(docs).ingest()
    reasons = skipped_reasons(summary)
    assert "random.txt" in reasons and "pipe.txt" in reasons
    assert "not a regular file" in reasons["pipe.txt"]


def test_a_document_indexed_through_a_link_is_dropped_when_the_link_goes_bad(
    docs: Path, make_pipeline: MakePipeline
) -> None:
    pipeline = make_pipeline(docs)
    target = docs / "inside.txt"
    target.write_text("Harbour News\nThe harbour reopened on Friday.\n")
    (docs / "link.txt").symlink_to(target)
    assert pipeline.ingest().added == 3  # the seed, inside.txt and link.txt
    (docs / "link.txt").unlink()
    (docs / "link.txt").symlink_to("/etc/hostname")
    summary = pipeline.ingest()
    assert summary.removed == 1 and "link.txt" in skipped_reasons(summary)
    assert "link.txt" not in pipeline.store.require_snapshot().documents


# --- the chat page ---


def test_a_lone_surrogate_in_the_chat_gets_a_clear_message(seed_pipeline: Pipeline) -> None:
    import gradio as gr

    from rag.web.chat import ChatHandlers

    handlers = ChatHandlers(seed_pipeline)
    outputs = list(handlers.respond("Who is \ud800 Witkoff?", []))
    display = outputs[-1][0]
    orjson.dumps(display)  # what Gradio sends the browser must encode (a raw TypeError did not)
    assert "Unicode" in str(display[-1]["content"]) and "rag-error" in str(display[-1]["content"])
    with pytest.raises(gr.Error, match="Unicode"):
        handlers.chat("Who is \ud800 Witkoff?", [])
    with pytest.raises(gr.Error, match="role"):
        handlers.chat("Who is Steve Witkoff?", [{"role": "system", "content": "hi"}])


@pytest.mark.slow  # three ingests
def test_a_question_on_an_older_generation_survives_two_quick_ingests(
    docs: Path, make_pipeline: MakePipeline
) -> None:
    """Uploads ingest back to back: a reader that opened generation N must still read it after
    N+1 and N+2 (it was found missing: 500s under the upload-while-asking test)."""
    pipeline = make_pipeline(docs)
    pipeline.ingest()
    reading = pipeline.store.require_snapshot()  # a question in flight holds this one
    for n in range(2):
        (docs / f"extra-{n}.txt").write_text(f"Extra News\nThe ferry sailed on day {n}.\n")
        pipeline.ingest()
    assert pipeline.store.require_snapshot().generation != reading.generation
    assert "Witkoff" in reading.document_text(SEED)  # its texts are still there


@pytest.mark.slow  # three ingests
def test_generations_superseded_long_ago_are_removed(
    docs: Path, make_pipeline: MakePipeline
) -> None:
    from rag.generations.base import MANIFEST

    pipeline = make_pipeline(docs)
    index = Path(pipeline.settings.index_dir)
    for n in range(3):
        (docs / f"extra-{n}.txt").write_text(f"Extra News\nThe ferry sailed on day {n}.\n")
        pipeline.ingest()
        for manifest in index.glob(f"gen-*/{MANIFEST}"):  # as if built an hour ago
            os.utime(manifest, (manifest.stat().st_atime, manifest.stat().st_mtime - 3600))
    # only the current generation and the one before it are left
    assert len(list(index.glob("gen-*"))) == 2
