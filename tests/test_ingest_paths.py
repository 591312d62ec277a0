"""`rag ingest PATH ...`: given files and folders add or update documents and keep the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag.app import Pipeline
from rag.errors import BadInputError, NoDocumentsError
from rag.web.server import create_app
from tests.conftest import MakePipeline
from tests.test_security_requests import assert_api_error

SEED = "council.md"  # the documents folder's own article (small: each test indexes it)
ARTICLES = {
    "a.md": "# Bridge\nAlice Smith opened the bridge on Monday.\n",
    "b.md": "# Port\nBob Jones closed the port on Friday.\n",
    "c.md": "# School\nCarol White built the school in Lyon.\n",
}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder of articles beside the documents folder."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def pipeline(make_pipeline: MakePipeline, tmp_path: Path) -> Pipeline:
    """The documents folder's article, indexed."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / SEED).write_text("# Council\nThe council passed the budget on Tuesday.\n")
    built = make_pipeline(tmp_path / "docs")
    assert built.ingest().added == 1
    return built


def indexed(pipeline: Pipeline) -> set[str]:
    return set(pipeline.store.require_snapshot().documents)


def answer(pipeline: Pipeline, question: str) -> str:
    reply = pipeline.chain.invoke({"question": question})
    assert not reply.refused, question
    return reply.answer


def test_ingesting_one_file_by_path_keeps_every_other_document(
    pipeline: Pipeline, outside: Path
) -> None:
    first = pipeline.ingest([outside / "a.md", outside / "b.md"])
    assert (first.added, first.removed) == (2, 0)
    second = pipeline.ingest([outside / "c.md"])
    assert (second.added, second.updated, second.removed) == (1, 0, 0)
    assert indexed(pipeline) == {SEED, "a.md", "b.md", "c.md"}
    assert "Alice Smith" in answer(pipeline, "Who opened the bridge?")
    assert "Bob Jones" in answer(pipeline, "Who closed the port?")
    assert "Carol White" in answer(pipeline, "Who built the school?")
    assert "Tuesday" in answer(pipeline, "When did the council pass the budget?")
    again = pipeline.ingest([outside / "c.md"])
    assert (again.added, again.removed, again.unchanged) == (0, 0, 1)


def test_a_file_deleted_from_a_folder_path_is_removed_and_nothing_else(
    pipeline: Pipeline, outside: Path
) -> None:
    assert pipeline.ingest([outside]).added == 3
    (outside / "a.md").unlink()
    (outside / "b.md").write_text("# Port\nBob Jones reopened the port on Sunday.\n")
    summary = pipeline.ingest([outside])
    assert (summary.removed, summary.updated, summary.unchanged) == (1, 1, 1)
    assert indexed(pipeline) == {SEED, "b.md", "c.md"}
    assert "Sunday" in answer(pipeline, "When did Bob Jones reopen the port?")


def test_a_file_path_that_vanished_is_a_clear_error_and_changes_nothing(
    pipeline: Pipeline, outside: Path
) -> None:
    pipeline.ingest([outside / "a.md", outside / "b.md"])
    generation = pipeline.store.current_generation()
    (outside / "a.md").unlink()
    (outside / "b.md").write_text("# Port\nBob Jones reopened the port on Sunday.\n")
    with pytest.raises(NoDocumentsError, match=r"no such file or folder: .*a\.md"):
        pipeline.ingest([outside / "b.md", outside / "a.md"])
    assert pipeline.store.current_generation() == generation
    assert indexed(pipeline) == {SEED, "a.md", "b.md"}


def test_same_name_files_by_path_the_second_is_skipped_with_its_reason(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    first, second = tmp_path / "x" / "sub1" / "report.txt", tmp_path / "x" / "sub2" / "report.txt"
    for path, text in ((first, "The mayor opened the library."), (second, "The dam burst.")):
        path.parent.mkdir(parents=True)
        path.write_text(f"Report\n{text}\n")
    summary = pipeline.ingest([first, second])
    assert summary.added == 1
    [skipped] = summary.skipped
    assert skipped["path"] == str(second)
    assert "report.txt" in skipped["reason"] and str(first) in skipped["reason"]
    assert "library" in answer(pipeline, "What did the mayor open?")
    # another run cannot take the name either, while the first file is there
    later = pipeline.ingest([second])
    assert (later.added, later.updated) == (0, 0) and later.skipped[0]["path"] == str(second)
    assert "library" in answer(pipeline, "What did the mayor open?")
    # their common folder names them apart; the first file's entry moves to its new name
    both = pipeline.ingest([tmp_path / "x"])
    assert (both.added, both.removed, both.skipped) == (2, 1, [])
    assert indexed(pipeline) == {SEED, "sub1/report.txt", "sub2/report.txt"}
    assert "library" in answer(pipeline, "What did the mayor open?")
    assert "dam" in answer(pipeline, "What burst?")


def test_a_file_in_the_documents_folder_keeps_its_folder_name(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    (docs / "world").mkdir()
    new = docs / "world" / "new.md"
    new.write_text("# Harbour\nThe harbour reopened on Friday.\n")
    summary = pipeline.ingest([new])
    assert summary.added == 1 and indexed(pipeline) == {SEED, "world/new.md"}
    plain = pipeline.ingest()
    assert (plain.added, plain.removed, plain.unchanged) == (0, 0, 2)
    assert indexed(pipeline) == {SEED, "world/new.md"}
    assert "Friday" in answer(pipeline, "When did the harbour reopen?")
    # a file reached twice (itself and its folder) is one document; a hidden one is left out
    (docs / ".draft.md").write_text("# Draft\nNot ready.\n")
    twice = pipeline.ingest([docs / "world", new, docs / ".draft.md"])
    assert (twice.unchanged, twice.added, twice.removed) == (1, 0, 0)
    assert [s["reason"] for s in twice.skipped] == [
        "hidden in the documents folder: a plain `rag ingest` leaves it out"
    ]


def test_a_plain_ingest_keeps_documents_added_from_elsewhere_and_mirrors_its_own(
    pipeline: Pipeline, outside: Path, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    assert pipeline.ingest([outside / "a.md", outside / "b.md"]).added == 2
    # a plain ingest never looks for them: on another host their files need not exist
    (outside / "b.md").unlink()
    (docs / "d.md").write_text("# Dam\nThe dam held on Tuesday.\n")
    summary = pipeline.ingest()
    assert (summary.added, summary.removed, summary.unchanged) == (1, 0, 1)
    assert indexed(pipeline) == {SEED, "a.md", "b.md", "d.md"}
    assert "Alice Smith" in answer(pipeline, "Who opened the bridge?")
    assert "Bob Jones" in answer(pipeline, "Who closed the port?")
    # its own documents go when their file vanished or can't be read any more
    (docs / SEED).unlink()
    (docs / "d.md").write_bytes(b"\x00\x01binary")
    gone = pipeline.ingest()
    assert (gone.added, gone.updated, gone.removed, gone.unchanged) == (0, 0, 2, 0)
    assert indexed(pipeline) == {"a.md", "b.md"}
    assert "Alice Smith" in answer(pipeline, "Who opened the bridge?")


def test_a_documents_folder_file_never_replaces_a_document_added_from_elsewhere(
    pipeline: Pipeline, outside: Path, tmp_path: Path
) -> None:
    pipeline.ingest([outside / "a.md"])
    (outside / "a.md").unlink()  # not looked for, as on another host
    (tmp_path / "docs" / "a.md").write_text("# Fair\nThe fair opened on Saturday.\n")
    generation = pipeline.store.current_generation()
    summary = pipeline.ingest()
    assert (summary.added, summary.updated, summary.removed) == (0, 0, 0)
    [skipped] = summary.skipped
    assert skipped["path"] == str(tmp_path / "docs" / "a.md")
    assert str(outside.resolve() / "a.md") in skipped["reason"]
    assert "rag ingest --remove a.md" in skipped["reason"]
    assert pipeline.store.current_generation() == generation
    assert "Alice Smith" in answer(pipeline, "Who opened the bridge?")
    # once that document is removed by name, the folder's file takes the name
    assert pipeline.remove(["a.md"]).removed == 1
    assert pipeline.ingest().added == 1
    assert "Saturday" in answer(pipeline, "When did the fair open?")


def test_a_path_file_never_replaces_a_document_of_the_documents_folder(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    news = tmp_path / "news"
    news.mkdir()
    (news / SEED).write_text("# Storm\nThe storm hit the coast on Friday.\n")
    # on a host that does not see the documents folder (a cron job's), its file is not there
    (tmp_path / "docs" / SEED).rename(tmp_path / "away.md")
    summary = pipeline.ingest([news])
    assert (summary.added, summary.updated, summary.removed) == (0, 0, 0)
    [skipped] = summary.skipped
    assert skipped["path"] == str(news / SEED) and "documents folder" in skipped["reason"]
    assert "Tuesday" in answer(pipeline, "When did the council pass the budget?")
    # its own ingest removes it once its file is gone; then the name is free
    assert pipeline.ingest().removed == 1
    assert pipeline.ingest([news]).added == 1
    assert "Friday" in answer(pipeline, "When did the storm hit the coast?")


def test_remove_by_name_takes_out_documents_whose_folder_is_gone(
    pipeline: Pipeline, outside: Path
) -> None:
    assert pipeline.ingest([outside]).added == 3
    for path in outside.iterdir():
        path.unlink()
    outside.rmdir()
    with pytest.raises(NoDocumentsError, match="no such file or folder"):
        pipeline.ingest([outside])
    generation = pipeline.store.current_generation()
    with pytest.raises(BadInputError, match=r"no document 'x\.md' in the index"):
        pipeline.remove(["a.md", "x.md"])
    with pytest.raises(BadInputError, match="from the documents folder"):
        pipeline.remove(["a.md", SEED])
    assert pipeline.store.current_generation() == generation
    summary = pipeline.remove(["a.md", "b.md"])
    assert (summary.added, summary.removed, summary.skipped) == (0, 2, [])
    assert indexed(pipeline) == {SEED, "c.md"}
    sources = {chunk.meta["source"] for chunk in pipeline.store.require_snapshot().every_chunk()}
    assert sources == {SEED, "c.md"}
    assert summary.chunks == len(list(pipeline.store.require_snapshot().every_chunk()))
    assert "Carol White" in answer(pipeline, "Who built the school?")


def test_a_plain_ingest_that_would_re_embed_keeps_documents_from_elsewhere(
    pipeline: Pipeline, outside: Path, make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    pipeline.ingest([outside / "a.md"])
    other = make_pipeline(tmp_path / "docs", embed="sentences")
    generation = other.store.current_generation()
    with pytest.raises(BadInputError, match=r"re-embedded.*elsewhere.*a\.md"):
        other.ingest()
    assert other.store.current_generation() == generation
    # --reset keeps its meaning: the index is rebuilt from the documents folder alone
    assert other.ingest(reset=True).added == 1
    assert indexed(other) == {SEED}


def test_a_path_ingest_that_would_re_embed_everything_asks_for_the_folder_or_reset(
    pipeline: Pipeline, outside: Path, make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    other = make_pipeline(tmp_path / "docs", embed="sentences")
    generation = other.store.current_generation()
    with pytest.raises(BadInputError, match="re-embedded"):
        other.ingest([outside / "a.md"])
    assert other.store.current_generation() == generation
    assert other.ingest([outside / "a.md"], reset=True).added == 1
    assert indexed(other) == {"a.md"}


def test_operator_uploads_and_deletions_keep_documents_from_elsewhere(
    pipeline: Pipeline, outside: Path, make_pipeline: MakePipeline, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    pipeline.ingest([outside / "a.md"])
    served = make_pipeline(docs, admin_token="operator-secret")
    admin = {"authorization": "Bearer operator-secret"}
    mill = b"Mill News\nThe old mill in Tarrin burned down on Sunday night.\n"

    def upload(name: str) -> Any:
        return client.post(
            "/api/documents", files={"file": (name, mill, "text/plain")}, headers=admin
        )

    with TestClient(create_app(served, examples=[]), raise_server_exceptions=False) as client:
        assert upload("mill.txt").status_code == 201
        assert indexed(served) == {SEED, "a.md", "mill.txt"}
        asked = client.post("/api/ask", json={"question": "Who opened the bridge?"}).json()
        assert "Alice Smith" in asked["answer"]
        assert client.delete("/api/documents/mill.txt", headers=admin).status_code == 200
        assert indexed(served) == {SEED, "a.md"}
        # the name of a document from elsewhere is not the folder's to take or delete
        assert_api_error(upload("a.md"), 409, "conflict", "rag ingest --remove a.md")
        assert not (docs / "a.md").exists()
        assert_api_error(client.delete("/api/documents/a.md", headers=admin), 409, "conflict")
        assert indexed(served) == {SEED, "a.md"}
        assert "Alice Smith" in answer(served, "Who opened the bridge?")


def record_paths(pipeline: Pipeline, paths: dict[str, str | None]) -> Path:
    """Rewrite the current generation's manifest: each named document's file as given (None:
    not recorded, as in indexes from before files were recorded)."""
    generation = pipeline.store.current_generation()
    assert generation is not None
    manifest = json.loads((generation / "manifest.json").read_text())
    for source, path in paths.items():
        entry = manifest["documents"][source]
        entry.pop("path", None)
        if path is not None:
            entry["path"] = path
    (generation / "manifest.json").write_text(json.dumps(manifest))
    return generation


def test_an_index_from_before_paths_were_recorded_keeps_its_documents_and_records_them(
    pipeline: Pipeline, outside: Path, tmp_path: Path, make_pipeline: MakePipeline
) -> None:
    pipeline.ingest([outside / "a.md", outside / "c.md"])
    record_paths(pipeline, {"a.md": None, "c.md": None})
    reopened = make_pipeline(tmp_path / "docs")
    # without a record, a document is taken to be from the documents folder: kept
    summary = reopened.ingest([outside / "b.md"])
    assert (summary.added, summary.removed) == (1, 0)
    assert indexed(reopened) == {SEED, "a.md", "b.md", "c.md"}
    generation = reopened.store.current_generation()
    again = reopened.ingest([outside / "a.md"])  # unchanged, but now its file is recorded
    assert (again.unchanged, again.added, again.removed) == (1, 0, 0)
    assert reopened.store.current_generation() != generation
    entry = reopened.store.require_snapshot().documents["a.md"]
    assert entry["path"] == str(outside.resolve() / "a.md")
    assert reopened.store.require_snapshot().documents[SEED]["path"] == SEED
    generation = reopened.store.current_generation()
    assert reopened.ingest([outside / "a.md"]).unchanged == 1
    assert reopened.store.current_generation() == generation
    # a plain ingest keeps what is recorded as from elsewhere, and removes c.md: not on record,
    # so taken to be the documents folder's, and not there
    plain = reopened.ingest()
    assert (plain.removed, plain.unchanged) == (1, 1)
    assert indexed(reopened) == {SEED, "a.md", "b.md"}
    # a documents folder file recorded by its whole path (as the release before did) is the
    # folder's; a plain ingest that finds nothing else to do writes nothing
    generation = record_paths(reopened, {SEED: str((tmp_path / "docs" / SEED).resolve())})
    assert make_pipeline(tmp_path / "docs").ingest().unchanged == 1
    assert reopened.store.current_generation() == generation
    (tmp_path / "docs" / SEED).unlink()
    assert make_pipeline(tmp_path / "docs").ingest().removed == 1
    assert indexed(reopened) == {"a.md", "b.md"}
