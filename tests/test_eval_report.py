"""The four report files from a hand-made run: content, self-containment, failures first."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from rag.evaluation.gates import Gate
from rag.evaluation.report import FILES, add_gates_and_comparison, write_reports
from rag.evaluation.report_md import question_block
from rag.evaluation.summary import METRICS, aggregate, counts

TEXT = "Rubio and Witkoff left London. Kyiv rejected the Crimea clause. <b>not markup</b>"


def record(qid: str, answer: str, failures: list[str], **extra: Any) -> dict[str, Any]:
    scores = dict.fromkeys(METRICS)
    scores.update(extra.pop("scores", {}))
    base = {
        "id": qid,
        "question": f"Question {qid}?",
        "history": [],
        "answerable": True,
        "answer": answer,
        "refused": False,
        "citations": [],
        "retrieved": [{"chunk_id": "c1", "source": "a.txt", "start": 0, "end": 30, "score": 0.5}],
        "latency_ms": 12.5,
        "expected": {
            "reference": "Rubio and Witkoff.",
            "must_include": [["Rubio"], ["Witkoff"]],
            "reference_contexts": ["Rubio and Witkoff left London."],
            "reference_sources": [],
        },
        "gold_spans": [{"source": "a.txt", "start": 0, "end": 30}],
        "first_relevant_rank": 1,
        "missing": [],
        "scores": scores,
        "failures": failures,
        "passed": not failures,
    }
    base.update(extra)
    return base


def make_report() -> dict[str, Any]:
    records = [
        record("good", "Rubio and Witkoff left London. [1]", [], scores={"hit@1": 1.0}),
        record(
            "bad",
            "Kyiv rejected the Crimea clause. [1]",
            ["answer lacks Rubio; Witkoff"],
            missing=[["Rubio"], ["Witkoff"]],
            scores={"hit@1": 0.0},
            history=[{"role": "user", "content": "Who left <London>?"}],
        ),
        record(
            "unanswerable",
            "I couldn't find an answer.",
            [],
            answerable=False,
            refused=True,
            retrieved=[],
            scores={"refusal_accuracy": 1.0},
        ),
    ]
    config = {
        "questions": "q.jsonl",
        "question_count": 3,
        "answerable": 2,
        "unanswerable": 1,
        "follow_ups": 1,
        "documents": 1,
        "chunks": 2,
        "index_dir": "idx",
        "k": 5,
        "refusal_threshold": 0.4,
        "started_at": "2026-01-01T00:00:00+00:00",
        "duration_s": 1.0,
        "metric_counts": counts(records),
    }
    return {"metrics": aggregate(records), "config": config, "per_question": records}


def write(tmp_path: Path, gates: list[Gate] | None = None, previous: Any = None) -> dict[str, str]:
    report = make_report()
    add_gates_and_comparison(report, gates or [], previous)
    paths = write_reports(report, tmp_path / "out", lambda s: TEXT, gates or [], previous)
    assert [p.name for p in paths] == list(FILES)
    return {p.name: p.read_text(encoding="utf-8") for p in paths}


def test_report_json_round_trips_with_gates_and_comparison(tmp_path: Path) -> None:
    files = write(tmp_path, [Gate("hit@1", "min", 0.9)], {"hit@1": 0.25})
    report = json.loads(files["report.json"])
    assert report["metrics"]["hit@1"] == 0.5
    assert report["gates"] == [
        {"metric": "hit@1", "kind": "min", "threshold": 0.9, "value": 0.5, "passed": False}
    ]
    assert next(r for r in report["compare"] if r["metric"] == "hit@1")["delta"] == 0.25
    assert [q["id"] for q in report["per_question"]] == ["good", "bad", "unanswerable"]


def test_html_is_self_contained_with_plots_and_failures_first(tmp_path: Path) -> None:
    html = write(tmp_path, [Gate("hit@1", "min", 0.9)])["report.html"]
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from outside
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 2
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    rows = re.findall(r"<tr class='(pass|fail)'>.*?<div class='id'>([^<]+)</div>", html)
    assert rows == [("fail", "bad"), ("pass", "good"), ("pass", "unanswerable")]
    assert "<b>not markup</b>" not in html and "Who left &lt;London&gt;?" in html
    assert "1 of 1 gates fail" in html and "hit@1 = 0.500, needs ≥ 0.9" in html
    # the failing row shows the answer beside the expected facts, missing ones marked
    bad_row = html[html.index("<div class='id'>bad</div>") :].split("</tr>")[0]
    assert "Kyiv rejected the Crimea clause. [1]" in bad_row
    assert "<span class='chip miss'>Rubio</span>" in bad_row


def test_markdown_lists_metrics_and_failures(tmp_path: Path) -> None:
    md = write(tmp_path, previous={"hit@1": 0.75})["report.md"]
    assert md.startswith("# Evaluation report\n\n3 questions from `q.jsonl`")
    assert "| hit@1 | 0.500 | 2 | -0.250 (worse) | a relevant chunk is ranked first |" in md
    failures = md.split("## Failures (1 of 3)")[1].split("## All questions")[0]
    assert "### bad: Question bad?" in failures and "good" not in failures
    assert "- problem: answer lacks Rubio; Witkoff" in failures
    table = md.split("## All questions")[1]
    assert table.index("| ✗ | bad |") < table.index("| ✓ | good |")


def test_ragas_jsonl_uses_ragas_field_names(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in write(tmp_path)["ragas.jsonl"].splitlines()]
    assert rows[0] == {
        "id": "good",
        "user_input": "Question good?",
        "retrieved_contexts": [TEXT[0:30]],
        "response": "Rubio and Witkoff left London. [1]",
        "reference_contexts": ["Rubio and Witkoff left London."],
        "reference": "Rubio and Witkoff.",
        "answerable": True,
    }
    assert rows[1]["history"] == [{"role": "user", "content": "Who left <London>?"}]
    assert rows[2]["retrieved_contexts"] == [] and rows[2]["answerable"] is False


def test_metric_groups_each_read_once_in_order(tmp_path: Path) -> None:
    """Every group's metrics sit together: headings never read "refusals / answer / refusals"."""
    groups = [info.group for info in METRICS.values()]
    runs = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
    assert len(runs) == len(set(runs)), runs
    html = write(tmp_path)["report.html"]
    headings = re.findall(r"<tr class='group'><td colspan='\d'>([^<]+)</td></tr>", html)
    assert headings == runs


def test_run_line_reads_as_prose(tmp_path: Path) -> None:
    """The HTML header has no Markdown backticks; one document is "1 document"."""
    files = write(tmp_path)
    header = files["report.html"].split("<div class='run'>")[1].split("</div>")[0]
    assert "`" not in header and "q.jsonl" in header
    assert "1 document," in header and "1 documents" not in files["report.md"]


def test_markdown_refused_answer_keeps_a_space() -> None:
    refused = record("r", "I couldn't find an answer.", ["refused"], refused=True)
    lines = question_block(refused)
    assert "- **answer**: (refused) I couldn't find an answer." in lines


def test_markdown_carries_no_escape_sequence_from_a_question_or_answer(tmp_path: Path) -> None:
    """report.md is read in terminals; its questions may come from web users (feedback export)."""
    report = make_report()
    report["per_question"][1]["question"] = "\x1b]0;PWNED\x07Who left?\x9b2J"
    report["per_question"][1]["answer"] = "\x1b[31mKyiv\x1b[0m rejected it. [1]"
    add_gates_and_comparison(report, [], None)
    paths = write_reports(report, tmp_path / "out", lambda s: TEXT, [], None)
    md = next(p for p in paths if p.name == "report.md").read_text(encoding="utf-8")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", md), repr(md)
    assert "### bad: Who left?" in md and "Kyiv rejected it. [1]" in md
