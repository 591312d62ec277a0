"""`rag ingest PATH ...`: given files and folders add or update documents and keep the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.app import Pipeline
from rag.errors import BadInputError, NoDocumentsError
from tests.conftest import MakePipeline

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


def test_a_plain_ingest_still_mirrors_the_documents_folder(
    pipeline: Pipeline, outside: Path, tmp_path: Path
) -> None:
    pipeline.ingest([outside / "a.md"])
    (tmp_path / "docs" / SEED).unlink()
    (tmp_path / "docs" / "d.md").write_text("# Dam\nThe dam held on Tuesday.\n")
    summary = pipeline.ingest()
    assert (summary.added, summary.removed) == (1, 2)
    assert indexed(pipeline) == {"d.md"}


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


def forget_paths(pipeline: Pipeline, *sources: str) -> Path:
    """Make the current generation's manifest one from before files were recorded."""
    generation = pipeline.store.current_generation()
    assert generation is not None
    manifest = json.loads((generation / "manifest.json").read_text())
    for source in sources:
        del manifest["documents"][source]["path"]
    (generation / "manifest.json").write_text(json.dumps(manifest))
    return generation


def test_an_index_from_before_paths_were_recorded_keeps_its_documents_and_records_them(
    pipeline: Pipeline, outside: Path, tmp_path: Path, make_pipeline: MakePipeline
) -> None:
    pipeline.ingest([outside / "a.md"])
    forget_paths(pipeline, "a.md", SEED)
    reopened = make_pipeline(tmp_path / "docs")
    # without a record, a document is taken to be from the documents folder: kept
    summary = reopened.ingest([outside / "b.md"])
    assert (summary.added, summary.removed) == (1, 0)
    assert indexed(reopened) == {SEED, "a.md", "b.md"}
    generation = reopened.store.current_generation()
    again = reopened.ingest([outside / "a.md"])  # unchanged, but now its file is recorded
    assert (again.unchanged, again.added, again.removed) == (1, 0, 0)
    assert reopened.store.current_generation() != generation
    entry = reopened.store.require_snapshot().documents["a.md"]
    assert entry["path"] == str(outside.resolve() / "a.md")
    generation = reopened.store.current_generation()
    assert reopened.ingest([outside / "a.md"]).unchanged == 1
    assert reopened.store.current_generation() == generation
    assert reopened.ingest().removed == 2  # a plain ingest mirrors the documents folder
    # and when that is all it finds, writes nothing, even for a document not on record
    generation = forget_paths(reopened, SEED)
    assert make_pipeline(tmp_path / "docs").ingest().unchanged == 1
    assert reopened.store.current_generation() == generation
