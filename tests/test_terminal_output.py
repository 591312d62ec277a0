"""Text from web users and documents never reaches the operator's terminal as escape sequences:
`rag feedback`, `rag ask` and `rag eval`'s report.md print it without C0/C1 controls."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rag.app import Pipeline
from rag.cli import app as cli
from rag.feedback import AnswerLog
from rag.terminal import for_terminal, json_for_terminal
from rag.web.server import create_app
from tests.conftest import SEEDS

# Every control character but newline and tab: C0, DEL and C1 (ESC, BEL, CSI 0x9b, OSC 0x9d, …).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# OSC 0 sets the window title; OSC 52 writes the clipboard (some terminals); DCS asks the terminal
# to answer; 0x9b and 0x9d are the 8-bit CSI and OSC.
TITLE = "\x1b]0;PWNED\x07"
QUESTION = f"{TITLE}Who is Rubio?\x1bP1$qm\x1b\\"
COMMENT = "\x1b[31mwrong\x1b[0m \x1b]52;c;aGk=\x1b\\person \x9b2J\x9d0;x\x9c"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (TITLE + "Who is Rubio?", "Who is Rubio?"),
        ("\x1b]52;c;aGk=\x1b\\x", "x"),  # OSC ended by ST
        ("\x1b[31mred\x1b[0m \x1b[?25l", "red "),  # CSI: colour, hide the cursor
        ("\x1bP1$qm\x1b\\ok", "ok"),  # DCS
        ("\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\ok", "ok"),  # APC, PM, SOS
        ("\x9b31mred\x9d0;title\x9cok\x90dcs\x9c", "redok"),  # the 8-bit forms
        ("\x1bcreset \x1b(Bcharset \x1b7", "reset charset "),  # other ESC sequences
        ("a\tb\nc\rd\x00e\x7ff\x85g\x08h", "a\tb\ncdefgh"),  # lone controls; tab, newline stay
        ("Zelensky’s “peace” — 中文 ✓ 👍", "Zelensky’s “peace” — 中文 ✓ 👍"),
        # bidirectional overrides and isolates reorder what is shown ("Trojan Source"); the
        # marks and right-to-left text itself stay
        ("rate \u202egnp.exe\u202c ok \u2066x\u2069", "rate gnp.exe ok x"),
        ("שלום \u200fعربي\u200e", "שלום \u200fعربي\u200e"),
    ],
)
def test_for_terminal_drops_escape_sequences_and_controls(text: str, shown: str) -> None:
    assert for_terminal(text) == shown


def test_an_unterminated_sequence_loses_its_introducer_not_the_text() -> None:
    shown = for_terminal("\x1b]0;no end, then the comment  [abc]")
    assert not CONTROL.search(shown) and shown.endswith("no end, then the comment  [abc]")


def test_json_for_terminal_escapes_what_json_dumps_leaves_raw() -> None:
    value = {"q": "a\x9bb\x7fc\x1bd", "n": 1}
    text = json_for_terminal(json.dumps(value, ensure_ascii=False))
    assert not CONTROL.search(text) and json.loads(text) == value


def rated_hostile_answer(pipeline: Pipeline, db: Path) -> str:
    """Ask QUESTION through /api/ask, rate it 👎 with COMMENT through /api/feedback; its id."""
    store = AnswerLog(db, max_answers=100)
    with TestClient(create_app(pipeline, examples=[], answer_log=store)) as client:
        asked = client.post("/api/ask", json={"question": QUESTION})
        assert asked.status_code == 200, asked.text
        answer_id = str(asked.json()["id"])
        rating = {"answer_id": answer_id, "rating": "down", "comment": COMMENT}
        assert client.post("/api/feedback", json=rating).status_code == 200
    store.close()
    return answer_id


def test_feedback_list_and_export_print_no_escape_sequence(
    seed_pipeline: Pipeline, tmp_path: Path
) -> None:
    db = tmp_path / "feedback.sqlite3"
    answer_id = rated_hostile_answer(seed_pipeline, db)
    runner = CliRunner()
    # color=True: as on a terminal, where click leaves CSI colour codes in
    listed = runner.invoke(cli, ["feedback", "list", "--db", str(db)], color=True)
    assert listed.exit_code == 0, listed.output
    assert not CONTROL.search(listed.output), repr(listed.output)
    assert f"👎  Who is Rubio?  “wrong person ”  [{answer_id}]" in listed.stdout

    as_json = runner.invoke(cli, ["feedback", "list", "--json", "--db", str(db)], color=True)
    assert not CONTROL.search(as_json.stdout), repr(as_json.stdout)
    (record,) = map(json.loads, as_json.stdout.splitlines())
    assert (record["question"], record["comment"]) == (QUESTION, COMMENT)  # data kept as is

    out = tmp_path / "from-chat.jsonl"
    exported = runner.invoke(cli, ["feedback", "export", "--out", str(out), "--db", str(db)])
    assert exported.exit_code == 0, exported.output
    text = out.read_text(encoding="utf-8")
    assert not CONTROL.search(text.replace("\n", "")), repr(text)
    assert json.loads(text)["question"] == QUESTION


@pytest.fixture
def hostile_docs(tmp_path: Path) -> Path:
    """The seed plus an article whose text carries 8-bit CSI and OSC (ingest keeps C1)."""
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    (docs / "harbour.txt").write_text(
        "Harbour News\n\nThe harbour of Varnel reopened on 3 May.\x9b2J After a storm\x9d0;PWNED"
        "\x9c it had been closed for a year.\n",
        encoding="utf-8",
    )
    return docs


def test_ask_prints_no_escape_sequence_from_a_document(
    hostile_docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_DOCS_DIR", str(hostile_docs))
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    question = ["ask", "When did the harbour of Varnel reopen?"]
    shown = CliRunner().invoke(cli, question, color=True)
    assert shown.exit_code == 0, shown.output
    assert "3 May" in shown.stdout and "harbour.txt" in shown.stdout
    assert not CONTROL.search(shown.output), repr(shown.output)
    as_json = CliRunner().invoke(cli, [*question, "--json"], color=True)
    assert not CONTROL.search(as_json.stdout), repr(as_json.stdout)
    quotes = [c["quote"] for c in json.loads(as_json.stdout)["citations"]]
    assert any("\x9b2J" in quote for quote in quotes)  # the quote is still the source's slice
