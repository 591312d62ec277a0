"""`rag bench`: every figure of the performance table, measured in one run on this machine."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rag.app import Pipeline
from rag.bench.corpus import add_one_article
from rag.bench.options import BenchOptions, Progress, RetrievalQuality
from rag.bench.timing import answer_latency, http_latency, load_questions
from rag.embeddings import BACKENDS
from rag.settings import Settings


def corpus(options: BenchOptions, work: Path) -> tuple[Path, Path | None]:
    """(documents folder, question file) to measure on."""
    if options.docs is not None:
        return options.docs, options.questions
    from rag.bench.corpus import write_corpus

    questions = write_corpus(work / "corpus", options.articles)
    return work / "corpus" / "docs", options.questions or questions


# The other ways of embedding the bench compares with the configured one (see variants).
OTHER_WAYS = {
    "separate": "chunks-and-sentences",
    "sentences": "sentences",
    "late": "chunks-late",
}


def variants(
    backend: str,
    server: str | None = None,
    compare: bool = True,
    embed: str = "chunks-and-sentences",
) -> dict[str, dict[str, Any]]:
    """The ways of embedding compared: the configured backend and `embed` mode; plain fp32; the
    configured backend with each other `embed` mode (`OTHER_WAYS`: chunks and sentences apart,
    the baseline; sentences only; late chunking); and the embeddings server when
    RAG_EMBEDDINGS_URL is set. `compare=False` (--no-fp32, for large corpora) builds only the
    configured way (and the server)."""
    ways: dict[str, dict[str, Any]] = {backend: {"embedding_backend": backend, "embed": embed}}
    if compare:
        ways["fp32"] = {"embedding_backend": "fp32", "embed": embed}
        for name, mode in OTHER_WAYS.items():
            if mode != embed:
                ways[name] = {"embedding_backend": backend, "embed": mode}
    if server:
        ways["server"] = {"embeddings_url": server, "embed": embed}
    return {name: {"embeddings_url": None, **update} for name, update in ways.items()}


def query_latency(pipelines: dict[str, Pipeline], questions: list[str]) -> dict[str, float]:
    """Warm time to embed one question, per way of embedding (a request, with a server)."""
    from rag.bench.timing import time_calls

    figures = {}
    for name, pipeline in pipelines.items():
        embeddings = pipeline.store.embeddings
        timings = time_calls(embeddings.embed_query, questions, 3)
        figures[f"embed_query_ms_p50_{name}"] = round(statistics.median(timings), 2)
    return figures


def open_pipelines(
    settings: Settings, docs: Path, work: Path, ways: dict[str, dict[str, Any]]
) -> dict[str, Pipeline]:
    """One pipeline per way of embedding over its own fresh index, models loaded and warmed up."""
    from rag.app import build_pipeline

    pipelines = {}
    for name, update in ways.items():
        pipelines[name] = build_pipeline(
            settings.model_copy(
                update={
                    "docs_dir": docs,
                    "index_dir": work / f"index-{name}",
                    "chroma_url": None,
                    **update,
                }
            )
        )
        pipelines[name].store.embeddings.encode(["warm up the model", "and its first batch"])
    return pipelines


def index_builds(pipelines: dict[str, Pipeline], rounds: int, progress: Progress) -> dict[str, Any]:
    """Index build time per backend, builds interleaved A B B A ... so drift hits both alike."""
    names = list(pipelines)
    order = [name for r in range(rounds) for name in (names if r % 2 == 0 else names[::-1])]
    seconds: dict[str, list[float]] = {name: [] for name in names}
    figures: dict[str, Any] = {}
    for name in order:
        progress(f"indexing with the {name} embeddings")
        started = time.perf_counter()
        summary = pipelines[name].ingest(reset=True)
        seconds[name].append(time.perf_counter() - started)
        figures[f"chunks_{name}"], figures["documents"] = summary.chunks, summary.added
    for name in names:
        started = time.perf_counter()
        again = pipelines[name].ingest()
        if again.unchanged != figures["documents"] or again.added or again.updated:
            raise RuntimeError("re-ingesting the unchanged corpus changed the index")
        figures[f"reingest_unchanged_s_{name}"] = round(time.perf_counter() - started, 3)
        median = statistics.median(seconds[name])
        figures[f"index_s_{name}"] = round(median, 2)
        figures[f"index_chunks_per_s_{name}"] = round(figures[f"chunks_{name}"] / median, 1)
    return figures


def embedding_throughput(pipelines: dict[str, Pipeline], rounds: int = 3) -> dict[str, float]:
    """Texts/s of each backend on the same 1,000 chunk and sentence texts, rounds interleaved."""
    snapshot = next(iter(pipelines.values())).store.require_snapshot()
    chunks = snapshot.fetch(snapshot.search.chunk_id(row) for row in range(min(400, snapshot.size)))
    texts = [chunk.text for chunk in chunks]
    texts += [s.text for chunk in chunks for s in chunk.sentences][:600]
    models = {n: p for n, p in pipelines.items() if n in BACKENDS}  # distinct models
    rates: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, pipeline in models.items():
            started = time.perf_counter()
            pipeline.store.embeddings.encode(texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
    return {
        f"embed_{name}_texts_per_s": round(statistics.median(values), 1)
        for name, values in rates.items()
    }


def cold_ask(env: dict[str, str], question: str, runs: int = 3) -> float:
    """Median wall time of a whole `rag ask` process over an existing index."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "rag", "ask", "--json", question],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"rag ask failed: {done.stderr.strip()}")
    return round(statistics.median(times), 2)


def swap_after_one_document(pipeline: Pipeline, docs: Path, question: str) -> dict[str, float]:
    """Ingest one new article, then time the reader's move to the new generation: opening it
    (the pointer has moved) and its first answer."""
    pipeline.chain.invoke({"question": question})  # the old generation, warm
    add_one_article(docs)
    started = time.perf_counter()
    pipeline.ingest()
    ingested = time.perf_counter()
    pipeline.store.snapshot()
    opened = time.perf_counter()
    pipeline.chain.invoke({"question": question})
    answered = time.perf_counter()
    return {
        "one_doc_ingest_s": round(ingested - started, 2),
        "swap_open_s": round(opened - ingested, 3),
        "swap_s": round(answered - ingested, 3),
    }


def serving(
    env: dict[str, str], questions: list[str], options: BenchOptions, work: Path, progress: Progress
) -> dict[str, Any]:
    """Start `rag serve`; HTTP latency, concurrent load and its peak RSS."""
    from rag.bench.load import run_load
    from rag.bench.serve import start_serve

    serve = start_serve(env, log=work / "serve.log")
    try:
        figures: dict[str, Any] = {"serve_first_200_s": serve.first_200_s}
        progress(f"HTTP latency ({len(questions)} questions x {options.repeats})")
        figures |= http_latency(serve.url, questions, options.repeats)
        figures["rss_after_questions_mb"] = serve.rss_mb()
        figures["rss_questions"] = len(questions) * (options.repeats + 1)
        progress(f"load: {options.concurrency} clients for {options.duration_s:g} s")
        load = run_load(serve.url, questions, options.concurrency, duration_s=options.duration_s)
        figures |= load.figures()
        figures["load_clients"] = options.concurrency
        figures["rss_mb"] = serve.peak_rss_mb()
        return figures
    finally:
        serve.stop()


def run_bench(
    settings: Settings,
    options: BenchOptions,
    progress: Progress,
    retrieval_quality: RetrievalQuality | None = None,
) -> dict[str, Any]:
    """Every figure, as one flat dict (the `--json` object).

    `retrieval_quality` scores a pipeline on a question set with gold passages; the CLI passes
    the evaluation package's scorer, so the core never imports the evaluation.
    """
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        work = Path(tmp)
        docs, question_file = corpus(options, work)
        questions = load_questions(question_file)[:40]
        figures: dict[str, Any] = {"backend": options.backend, "cpus": os.cpu_count()}
        ways = variants(
            options.backend, settings.embeddings_url, compare=options.fp32, embed=settings.embed
        )
        backends = list(dict.fromkeys([options.backend, *(["fp32"] if options.fp32 else [])]))
        pipelines = open_pipelines(settings, docs, work, ways)
        builds = index_builds(pipelines, options.index_rounds, progress)
        figures["chunks"] = builds[f"chunks_{options.backend}"]
        figures["documents"] = builds["documents"]
        figures["index_s"] = builds[f"index_s_{options.backend}"]
        figures["index_chunks_per_s"] = builds[f"index_chunks_per_s_{options.backend}"]
        if "index_s_fp32" in builds:
            figures["index_s_fp32"] = builds["index_s_fp32"]
            figures["index_chunks_per_s_fp32"] = builds["index_chunks_per_s_fp32"]
            speedup = figures["index_s_fp32"] / figures["index_s"]
            figures["index_speedup_vs_fp32"] = round(speedup, 2)
        # Speed-ups over chunks and sentences embedded apart (the path before issue 13).
        base = builds.get("index_s_separate", figures["index_s"])
        for way in OTHER_WAYS:
            if f"index_s_{way}" in builds:
                figures[f"index_s_{way}"] = builds[f"index_s_{way}"]
                figures[f"index_chunks_per_s_{way}"] = builds[f"index_chunks_per_s_{way}"]
                figures[f"index_speedup_{way}"] = round(base / builds[f"index_s_{way}"], 2)
        if "server" in pipelines:
            figures["index_s_server"] = builds["index_s_server"]
            figures["index_chunks_per_s_server"] = builds["index_chunks_per_s_server"]
            figures |= query_latency(pipelines, questions)
        figures["reingest_unchanged_s"] = builds[f"reingest_unchanged_s_{options.backend}"]
        if retrieval_quality and question_file and _has_gold(question_file):
            scored = [*backends, *(way for way in OTHER_WAYS if way in pipelines)]
            for way in scored:
                progress(f"retrieval quality with the {way} embeddings")
                suffix = "" if way == options.backend else f"_{way}"
                quality = retrieval_quality(pipelines[way], question_file)
                figures |= {f"{key}{suffix}": value for key, value in quality.items()}
            for key in ("hit5", "mrr", "dense_hit5", "dense_mrr"):
                if f"{key}_fp32" in figures:
                    figures[f"{key}_loss_vs_fp32"] = round(figures[f"{key}_fp32"] - figures[key], 4)
        progress("raw embedding throughput")
        figures |= embedding_throughput(pipelines)
        progress("in-process answer latency")
        figures |= answer_latency(pipelines[options.backend], questions, options.repeats)
        env = {
            "RAG_DOCS_DIR": str(docs),
            "RAG_INDEX_DIR": str(work / f"index-{options.backend}"),
            "RAG_EMBEDDING_BACKEND": options.backend,
        }
        env["RAG_CHROMA_URL"] = ""  # measured on the embedded index just built
        env["RAG_EMBEDDINGS_URL"] = ""  # with the local model it was built with
        progress("cold start of rag ask")
        figures["cold_ask_s"] = cold_ask(env, questions[0])
        figures |= serving(env, questions, options, work, progress)
        progress("generation swap after a one-document change")
        figures |= swap_after_one_document(pipelines[options.backend], docs, questions[0])
        if settings.chroma_url:
            from rag.bench.server_mode import server_mode

            figures |= server_mode(settings, docs, questions, options, work, progress)
        figures["bench_rss_mb"] = _own_peak_rss_mb()
        return figures


def _has_gold(question_file: Path) -> bool:
    if question_file.suffix != ".jsonl":
        return False
    first = question_file.read_text(encoding="utf-8").splitlines()[0]
    return bool(json.loads(first).get("reference_contexts"))


def _own_peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
