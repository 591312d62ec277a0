"""Measure a chat model's time to first token and tokens per second: `python -m rag.bench.llm`."""

from __future__ import annotations

import argparse
import json
import statistics
import time

from rag.answer.generative import build_messages
from rag.app import build_pipeline
from rag.bench.timing import DEFAULT_QUESTIONS
from rag.llm import LocalTransformersChat
from rag.settings import Settings


def measure(llm_spec: str, repeats: int = 1) -> dict[str, float]:
    """Median time to first token and decode speed over the default questions (model warm)."""
    pipeline = build_pipeline(Settings(llm=llm_spec))
    pipeline.ensure_index()
    llm = pipeline.chain.llm
    if llm is None:
        raise SystemExit("choose a generative model with --llm")
    started = time.perf_counter()
    list(llm.stream("Hi"))  # load the weights once, outside the measurement
    load_s = time.perf_counter() - started
    ttfts, rates = [], []
    for _ in range(repeats):
        for question in DEFAULT_QUESTIONS[:4]:
            documents = pipeline.retriever.retrieve(question).documents
            passages = documents[: pipeline.chain.llm_passages]
            messages = build_messages(question, [], passages)
            started = time.perf_counter()
            first = None
            text = ""
            for chunk in llm.stream(messages):
                first = first or time.perf_counter()
                text += str(chunk.content)
            ended = time.perf_counter()
            tokens = count_tokens(llm, text)
            if first is not None and tokens > 1:
                ttfts.append((first - started) * 1000)
                rates.append((tokens - 1) / max(ended - first, 1e-6))
    return {
        "load_s": round(load_s, 1),
        "ttft_ms_p50": round(statistics.median(ttfts), 1),
        "tokens_per_s_p50": round(statistics.median(rates), 1),
        "answers": len(ttfts),
    }


def count_tokens(llm: object, text: str) -> int:
    """Tokens in `text` by the model's own tokenizer when local, else ~4 characters each."""
    if isinstance(llm, LocalTransformersChat):
        return len(llm.tokenizer(text)["input_ids"])
    return max(1, len(text) // 4)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--llm", default="tiny-local")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(measure(args.llm, args.repeats)))
