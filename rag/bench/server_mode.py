"""`rag bench` in server mode: index into a Chroma server, then 1 and N replicas sharing it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rag.bench.load import run_load
from rag.bench.options import BenchOptions, Progress
from rag.bench.serve import start_serve
from rag.bench.timing import answer_latency, http_latency
from rag.settings import Settings


def server_mode(
    settings: Settings,
    docs: Path,
    questions: list[str],
    options: BenchOptions,
    work: Path,
    progress: Progress,
) -> dict[str, Any]:
    """With RAG_CHROMA_URL: index into the Chroma server, then 1 and N replicas sharing it."""
    from rag.app import build_pipeline

    prefix = f"bench{time.time_ns() % 10**12}"
    pipeline = build_pipeline(
        settings.model_copy(update={"docs_dir": docs, "collection": prefix,
                                    "embedding_backend": options.backend})
    )  # fmt: skip
    figures: dict[str, Any] = {}
    try:
        progress(f"server mode: indexing into {settings.chroma_url}")
        started = time.perf_counter()
        pipeline.ingest()
        figures["server_index_s"] = round(time.perf_counter() - started, 2)
        timings = answer_latency(pipeline, questions, options.repeats)
        figures["server_answer_ms_p50"] = timings["answer_ms_p50"]
        figures["server_answer_ms_p95"] = timings["answer_ms_p95"]
        env = {"RAG_CHROMA_URL": str(settings.chroma_url), "RAG_COLLECTION": prefix,
               "RAG_DOCS_DIR": str(docs), "RAG_INDEX_DIR": str(work / "unused"),
               "RAG_EMBEDDING_BACKEND": options.backend}  # fmt: skip
        for replicas in dict.fromkeys([1, options.replicas]):
            progress(f"server mode: {replicas} replica(s), {options.concurrency} clients")
            serves = [start_serve(env, log=work / f"serve-r{n}.log") for n in range(replicas)]
            try:
                if replicas == 1:
                    figures |= {
                        f"server_{k}": v
                        for k, v in http_latency(serves[0].url, questions, options.repeats).items()
                    }
                load = run_load([s.url for s in serves], questions, options.concurrency,
                                duration_s=options.duration_s)  # fmt: skip
                figures |= load.figures(f"server_r{replicas}_load")
                figures[f"server_r{replicas}_rss_mb"] = max(s.peak_rss_mb() for s in serves)
            finally:
                for serve in serves:
                    serve.stop()
    finally:
        from rag.generations.server import ServerGenerations

        if isinstance(pipeline.store.generations, ServerGenerations):
            pipeline.store.generations.drop_all()
    return figures
