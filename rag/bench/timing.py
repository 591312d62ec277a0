"""The project's benchmark: medians and percentiles measured in one process, never in tests."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.app import Pipeline
from rag.stats import percentile

DEFAULT_QUESTIONS = [
    "Which US officials pulled out of the London ceasefire talks?",
    "Who is Steve Witkoff?",
    "When did Russia seize Crimea?",
    "Why did Ukraine reject the US proposal?",
    "What is the capital of Australia?",
]


def load_questions(path: Path | None) -> list[str]:
    """Questions from a .jsonl question set (its `question` field) or a plain text file."""
    if path is None:
        return DEFAULT_QUESTIONS
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix == ".jsonl":
        return [json.loads(line)["question"] for line in lines]
    return lines


def time_calls(call: Callable[[str], Any], questions: list[str], repeats: int) -> list[float]:
    """Milliseconds per call, over `repeats` passes of the questions after one warm-up pass."""
    for question in questions:
        call(question)
    timings = []
    for _ in range(repeats):
        for question in questions:
            started = time.perf_counter()
            call(question)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def answer_latency(pipeline: Pipeline, questions: list[str], repeats: int = 20) -> dict[str, float]:
    """Warm in-process latency of the whole chain (retrieve + answer + cite)."""
    timings = time_calls(lambda q: pipeline.chain.invoke({"question": q}), questions, repeats)
    return {
        "answer_ms_p50": round(statistics.median(timings), 2),
        "answer_ms_p95": round(percentile(timings, 95), 2),
        "answer_calls": len(timings),
    }


def http_latency(url: str, questions: list[str], repeats: int) -> dict[str, float]:
    """Warm sequential latency of POST /api/ask."""
    import httpx

    with httpx.Client(base_url=url, timeout=60) as client:

        def ask(question: str) -> None:
            client.post("/api/ask", json={"question": question}).raise_for_status()

        timings = time_calls(ask, questions, repeats)
    return {
        "http_ms_p50": round(statistics.median(timings), 2),
        "http_ms_p95": round(percentile(timings, 95), 2),
    }
