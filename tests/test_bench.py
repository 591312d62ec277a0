"""`rag bench`: its pieces, and one short real run through the CLI (not a timed test)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rag.app import Pipeline
from rag.bench.corpus import article, write_corpus
from rag.bench.load import LoadResult, run_load
from rag.stats import percentile
from tests.conftest import ROOT

REQUIRED_KEYS = {
    "answer_ms_p50", "answer_ms_p95", "http_ms_p50", "load_answers_per_s", "load_ms_p95",
    "load_errors", "index_chunks_per_s", "index_speedup_vs_fp32", "cold_ask_s",
    "serve_first_200_s", "rss_mb", "rss_after_questions_mb", "one_doc_ingest_s", "swap_s",
    "index_chunks_per_s_late", "index_speedup_late", "index_chunks_per_s_sentences",
    "index_speedup_sentences", "hit5_sentences", "hit5_late",
}  # fmt: skip


def test_percentile_interpolates() -> None:
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([5], 95) == 5 and percentile([1, 2, 3], 100) == 3
    assert math.isnan(percentile([], 50))
    assert percentile([1.0] * 19 + [100.0], 95) == pytest.approx(5.95)


def test_synthetic_corpus_is_deterministic_and_its_gold_is_in_the_text(tmp_path: Path) -> None:
    first = write_corpus(tmp_path / "a", 30)
    second = write_corpus(tmp_path / "b", 30)
    assert first.read_text() == second.read_text()
    for name in ("news-0000.txt", "news-0029.txt"):
        assert (tmp_path / "a/docs" / name).read_bytes() == (
            tmp_path / "b/docs" / name
        ).read_bytes()
    rows = [json.loads(line) for line in first.read_text().splitlines()]
    assert len(rows) == 60 and len({r["question"] for r in rows}) == 60
    for row in rows:
        text = (tmp_path / "a/docs" / row["reference_sources"][0]).read_text()
        assert row["reference_contexts"][0] in text
        assert row["question"] not in text  # questions are worded apart from their facts
    assert article(5) == article(5) and article(5) != article(6)


def test_load_figures_count_errors_and_percentiles() -> None:
    result = LoadResult(latencies_ms=[10.0, 20.0, 30.0, 40.0], errors=["boom"], elapsed_s=2.0)
    figures = result.figures()
    assert figures["load_answers_per_s"] == 2.0 and figures["load_errors"] == 1
    assert figures["load_ms_p50"] == 25.0 and figures["load_requests"] == 5


@pytest.mark.slow
def test_run_load_against_a_real_server(seed_pipeline: Pipeline) -> None:
    from rag.web.server import create_app, serve_in_background

    def check(answer: dict[str, Any]) -> str | None:
        return None if answer["citations"] else "no citation"

    with serve_in_background(create_app(seed_pipeline, examples=[])) as url:
        result = run_load(url, ["Who is Steve Witkoff?", ""], 3, per_client=4, check=check)
    assert len(result.latencies_ms) + len(result.errors) == 12
    assert len(result.errors) == 6 and all("HTTP 422" in e for e in result.errors)
    with pytest.raises(ValueError):
        run_load("http://127.0.0.1:9", ["q"], 1)


@pytest.mark.slow
def test_rag_bench_json_prints_every_figure(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "rag", "bench", "--json", "--articles", "24", "--duration", "2",
         "--repeats", "1", "--concurrency", "4"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    assert set(figures) >= REQUIRED_KEYS
    assert figures["load_errors"] == 0 and figures["load_requests"] > 0
    assert figures["documents"] == 24 and figures["chunks"] > 0
    for key in REQUIRED_KEYS - {"load_errors"}:
        assert isinstance(figures[key], int | float) and figures[key] > 0, key
    assert 0 <= figures["hit5"] <= 1 and 0 <= figures["hit5_fp32"] <= 1
    assert figures["reingest_unchanged_s"] < figures["index_s"]


def test_first_questions_times_each_question_once(seed_pipeline: Pipeline) -> None:
    from rag.bench.first_questions import first_time_latencies
    from rag.settings import Settings

    index = seed_pipeline.store.index_dir
    asked = ["Who is Steve Witkoff?", "When did Russia seize Crimea?", "Who chaired the talks?"]
    figures = first_time_latencies(Settings(index_dir=index), asked, ["What is the capital?"])
    assert figures["questions"] == 3
    for part in ("answer_time", "answer_cpu", "retrieve", "answer", "total"):
        assert 0 < figures[f"{part}_ms_p50"] <= figures[f"{part}_ms_p95"]
