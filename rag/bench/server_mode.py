"""`rag bench` in server mode: index into a Chroma server, then 1 and N replicas sharing it.

Replicas reach the server through a byte-counting relay (`proxy.py`), so the figures say what a
replica downloads at start, per question and at a generation swap.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.bench.corpus import add_one_article
from rag.bench.load import run_load
from rag.bench.options import BenchOptions, Progress
from rag.bench.proxy import CountingProxy
from rag.bench.serve import start_serve
from rag.bench.timing import answer_latency, http_latency
from rag.generations.server import ServerGenerations
from rag.settings import Settings

if TYPE_CHECKING:
    from rag.app import Pipeline


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
        with CountingProxy(str(settings.chroma_url)) as proxy:
            env = {
                "RAG_CHROMA_URL": proxy.url,
                "RAG_COLLECTION": prefix,
                "RAG_DOCS_DIR": str(docs),
                "RAG_INDEX_DIR": str(work / "unused"),
                "RAG_EMBEDDING_BACKEND": options.backend,
            }
            try:
                for replicas in dict.fromkeys([1, options.replicas]):
                    progress(f"server mode: {replicas} replica(s), {options.concurrency} clients")
                    figures |= _replicas(
                        replicas, env, pipeline, docs, questions, options, work, proxy
                    )
            finally:  # the search files the replicas kept in the cache
                shutil.rmtree(
                    ServerGenerations(proxy.url, prefix, settings.cache_dir).search_cache,
                    ignore_errors=True,
                )
    finally:
        if isinstance(pipeline.store.generations, ServerGenerations):
            pipeline.store.generations.drop_all()
    return figures


def _replicas(
    replicas: int,
    env: dict[str, str],
    pipeline: Pipeline,
    docs: Path,
    questions: list[str],
    options: BenchOptions,
    work: Path,
    proxy: CountingProxy,
) -> dict[str, Any]:
    """Load on `replicas` replicas; with one, also latency, bytes downloaded and a swap."""
    figures: dict[str, Any] = {}
    before = proxy.downloaded
    serves = [start_serve(env, log=work / f"serve-r{n}.log") for n in range(replicas)]
    try:
        if replicas == 1:
            figures["server_replica_start_bytes"] = proxy.downloaded - before
            before = proxy.downloaded
            latency = http_latency(serves[0].url, questions, options.repeats)
            figures |= {f"server_{key}": value for key, value in latency.items()}
            asked = len(questions) * (options.repeats + 1)
            figures["server_bytes_per_question"] = (proxy.downloaded - before) // asked
            figures |= _swap(pipeline, docs, serves[0].url, questions[0], proxy)
        load = run_load([s.url for s in serves], questions, options.concurrency,
                        duration_s=options.duration_s)  # fmt: skip
        figures |= load.figures(f"server_r{replicas}_load")
        figures[f"server_r{replicas}_rss_mb"] = max(s.peak_rss_mb() for s in serves)
    finally:
        for serve in serves:
            serve.stop()
    return figures


def _swap(
    pipeline: Pipeline, docs: Path, url: str, question: str, proxy: CountingProxy
) -> dict[str, Any]:
    """A one-document ingest, then a replica's first answer from the new generation: its time
    and what the replica downloaded for it (the new generation's search files included)."""
    import httpx

    add_one_article(docs)
    started = time.perf_counter()
    pipeline.ingest()
    ingested = time.perf_counter()
    before = proxy.downloaded
    httpx.post(f"{url}/api/ask", json={"question": question}, timeout=60).raise_for_status()
    return {
        "server_one_doc_ingest_s": round(ingested - started, 2),
        "server_swap_s": round(time.perf_counter() - ingested, 3),
        "server_swap_bytes": proxy.downloaded - before,
    }
