"""Time questions asked for the first time: `python -m rag.bench.first_questions QUESTIONS`.

One process asks every question once, after a warm-up on other questions (the model and code
loaded, but none of these questions' chunks in the cache), and prints the p50/p95 of the answer
time seen by the caller, of the CPU time it took (steadier than wall time on a shared machine),
and of each part of the chain's `timings_ms`, as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rag.app import build_pipeline
from rag.bench.timing import DEFAULT_QUESTIONS, load_questions
from rag.models import Answer
from rag.settings import Settings
from rag.stats import percentile


def first_time_latencies(
    settings: Settings, questions: list[str], warm_up: list[str]
) -> dict[str, float]:
    """p50/p95 (ms) of each question's answer time, CPU time and `timings_ms` parts."""
    chain = build_pipeline(settings).chain

    def ask(question: str) -> tuple[float, float, Answer]:
        started, cpu = time.perf_counter(), time.process_time()
        answer = Answer()
        for piece in chain.stream({"question": question}):
            answer = answer + piece
        return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000, answer

    for question in warm_up:
        ask(question)
    parts: dict[str, list[float]] = {"answer_time": [], "answer_cpu": []}
    for question in questions:
        elapsed, cpu, answer = ask(question)
        parts["answer_time"].append(elapsed)
        parts["answer_cpu"].append(cpu)
        for name, ms in answer.timings_ms.items():
            parts.setdefault(name, []).append(ms)
    figures: dict[str, float] = {"questions": len(questions)}
    for name, values in parts.items():
        figures[f"{name}_ms_p50"] = round(percentile(values, 50), 1)
        figures[f"{name}_ms_p95"] = round(percentile(values, 95), 1)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("questions", type=Path, help="a .jsonl (field `question`) or .txt file")
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--docs", type=Path, help="the folder the index was made from")
    parser.add_argument(
        "--warm-up", type=Path, help="questions asked first, not timed (default: the bench's)"
    )
    parser.add_argument("--warm-up-count", type=int, default=20)
    args = parser.parse_args()
    settings = Settings(index_dir=args.index_dir)
    if args.docs:
        settings = Settings(index_dir=args.index_dir, docs_dir=args.docs)
    warm = load_questions(args.warm_up) if args.warm_up else DEFAULT_QUESTIONS
    figures = first_time_latencies(
        settings,
        load_questions(args.questions),
        warm[: args.warm_up_count],
    )
    print(json.dumps(figures))
