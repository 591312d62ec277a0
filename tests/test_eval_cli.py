"""`rag eval` via its real entry point: four files, gates both ways, --compare, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rag.cli import app
from tests.test_cli import run_rag
from tests.test_eval_runner import QUESTIONS, write_corpus, write_questions

FILES = ["ragas.jsonl", "report.html", "report.json", "report.md"]


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Any]:
    docs = write_corpus(tmp_path)
    return {
        "questions": str(write_questions(tmp_path / "q.jsonl")),
        "base": ["--docs", str(docs), "--index-dir", str(tmp_path / "index")],
        "tmp": tmp_path,
    }


def rag_eval(setup: dict[str, Any], *args: str) -> Any:
    return CliRunner().invoke(app, ["eval", setup["questions"], *setup["base"], *args])


@pytest.mark.slow
def test_writes_four_files_and_passing_gates_exit_0(setup: dict[str, Any]) -> None:
    out = setup["tmp"] / "out"
    result = rag_eval(
        setup, "--out", str(out), "--k", "3", "--min", "hit@k=0.5", "--max", "latency_p50_ms=60000"
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == FILES
    report = json.loads((out / "report.json").read_text())
    assert {"metrics", "config", "per_question"} <= set(report)
    assert report["config"]["k"] == 3 and len(report["per_question"]) == len(QUESTIONS)
    assert [g["passed"] for g in report["gates"]] == [True, True]
    assert "gate hit@k >= 0.5: " in result.stdout and "FAIL" not in result.stdout
    assert result.stdout.splitlines()[0].startswith("hit@1 ")
    assert "questions: 100%" in result.stderr and "indexing: 100%" in result.stderr


@pytest.mark.slow
def test_failing_gate_exits_1_and_names_it(setup: dict[str, Any]) -> None:
    out = setup["tmp"] / "out"
    result = rag_eval(
        setup, "--out", str(out), "--min", "hit@k=0.5", "--max", "latency_p50_ms=0.001"
    )
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("error: 1 gate(s) failed: latency_p50_ms > 0.001")
    assert "gate latency_p50_ms <= 0.001: " in result.stdout and "FAIL" in result.stdout
    assert (out / "report.html").exists()  # the reports are written even when a gate fails
    assert "1 of 2 gates fail" in (out / "report.html").read_text()


@pytest.mark.slow
def test_compare_prints_deltas(setup: dict[str, Any]) -> None:
    first, second = setup["tmp"] / "first", setup["tmp"] / "second"
    assert rag_eval(setup, "--out", str(first)).exit_code == 0
    previous = json.loads((first / "report.json").read_text())
    previous["metrics"]["hit@1"] = 0.25
    (first / "report.json").write_text(json.dumps(previous))
    result = rag_eval(setup, "--out", str(second), "--compare", str(first / "report.json"))
    assert result.exit_code == 0, result.output
    now = json.loads((second / "report.json").read_text())["metrics"]["hit@1"]
    line = next(x for x in result.stdout.splitlines() if x.startswith("hit@1") and "->" in x)
    assert line.split() == ["hit@1", "0.250", "->", f"{now:.3f}", f"{now - 0.25:+.3f}", "better"]
    assert f"compared with {first / 'report.json'}:" in result.stdout
    mrr = next(x for x in result.stdout.splitlines() if x.startswith("mrr@10") and "->" in x)
    assert mrr.endswith("same")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min", "hit@3"], "expected METRIC=VALUE"),
        (["--min", "recall=0.5"], "unknown metric 'recall'"),
        (["--min", "latency_p95_ms=100"], "use --max"),
        (["--compare", "nowhere/report.json"], "--compare: cannot read"),
    ],
)
def test_bad_options_exit_2(setup: dict[str, Any], args: list[str], message: str) -> None:
    result = rag_eval(setup, *args)
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.output and not (setup["tmp"] / "index").exists()


def test_malformed_question_file_exits_2_naming_file_line_field(setup: dict[str, Any]) -> None:
    bad = setup["tmp"] / "bad.jsonl"
    bad.write_text('{"question": "Fine?"}\n{"question": "Bad?", "must_include": 3}\n')
    result = CliRunner().invoke(app, ["eval", str(bad), *setup["base"]])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {bad}, line 2, field 'must_include': "
        "must be a list of groups, each a list of alternative strings"
    )


def test_question_file_warnings_reach_the_user(tmp_path: Path) -> None:
    """Through the real entry point, whose logging shows errors only, except eval's warnings."""
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "Fine?", "contexts": ["x"]}\n{"question": "Bad?", "must_include": 3}\n'
    )
    result = run_rag("eval", str(questions), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"WARNING: {questions}, line 1: ignoring unknown field 'contexts' "
        "(did you mean 'reference_contexts'?)",
        f"error: {questions}, line 2, field 'must_include': "
        "must be a list of groups, each a list of alternative strings",
    ]


def test_gold_source_missing_from_the_docs_exits_2(setup: dict[str, Any]) -> None:
    questions = write_questions(
        setup["tmp"] / "q2.jsonl", [{"question": "Who?", "reference_sources": ["seeds/zzz.txt"]}]
    )
    result = CliRunner().invoke(app, ["eval", str(questions), *setup["base"]])
    assert result.exit_code == 2
    assert "line 1, field 'reference_sources': 'seeds/zzz.txt' is not an indexed document" in (
        result.stderr
    )
