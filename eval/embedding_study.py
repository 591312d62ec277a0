"""Which local embedding backend to default to: speed and quality, measured in one run.

    python -m rag.evaluation.embedding_study [--articles 531] [--rounds 3]

Every candidate embeds the same 1,000 texts of the synthetic bench corpus (400 chunks, 600
sentences; batches sorted by length, 32 texts each), rounds interleaved so load from other
programs hits all alike; texts/s is the median. Quality is the bench's retrieval set (hit@5 of the
hybrid retriever as served, and dense only) on an index built with that candidate, and the lowest
and mean cosine of its vectors to sentence-transformers' fp32 ones. Candidates: sentence-
transformers on torch (fp32), the hand-made ONNX export on onnxruntime, fp32 and int8, with 1 or
all intra-op threads, and the same two ONNX files on the OpenVINO runtime when `openvino` imports.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rag.embeddings import SentenceEmbeddings, resolve_model_path
from rag.embeddings.int8 import OnnxInt8Encoder
from rag.settings import PACKAGED_MODEL, Settings

from .retrieval_quality import retrieval_quality


class OpenVinoEncoder(OnnxInt8Encoder):
    """An ONNX file run by the OpenVINO runtime instead of onnxruntime."""

    def __init__(self, onnx_file: Path, model_path: Path) -> None:
        import openvino

        super().__init__(None, model_path)
        core = openvino.Core()
        model = core.read_model(str(onnx_file))
        self.input_names = [i.get_any_name() for i in model.inputs]
        self.compiled: Any = core.compile_model(model, "CPU")

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden: np.ndarray = self.compiled(feed)[0]
        return hidden


def candidates(work: Path) -> dict[str, Callable[[], Any]]:
    """Name → a function that loads that encoder."""
    from transformers import AutoModel

    from rag.embeddings.cache import default_cache_dir
    from rag.embeddings.fp32 import TorchEncoder
    from rag.embeddings.int8_export import export_onnx, int8_model_file

    path = resolve_model_path(PACKAGED_MODEL)
    int8_file = int8_model_file(path, default_cache_dir())
    fp32_file = work / "model.onnx"
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    export_onnx(model, OnnxInt8Encoder.tokenizer_only(path), fp32_file)
    found: dict[str, Callable[[], Any]] = {
        "fp32 torch (sentence-transformers)": lambda: TorchEncoder(path),
        "int8 onnxruntime, all threads (default)": lambda: OnnxInt8Encoder(int8_file, path),
        "int8 onnxruntime, 1 thread": lambda: OnnxInt8Encoder(int8_file, path, threads=1),
        "fp32 onnxruntime, all threads": lambda: OnnxInt8Encoder(fp32_file, path),
        "fp32 onnxruntime, 1 thread": lambda: OnnxInt8Encoder(fp32_file, path, threads=1),
    }
    try:
        import openvino  # noqa: F401
    except ImportError:
        return found
    found["int8 OpenVINO (same ONNX file)"] = lambda: OpenVinoEncoder(int8_file, path)
    found["fp32 OpenVINO (same ONNX file)"] = lambda: OpenVinoEncoder(fp32_file, path)
    return found


def study(articles: int, rounds: int) -> list[dict[str, Any]]:
    from rag.app import build_pipeline
    from rag.bench.corpus import write_corpus

    with tempfile.TemporaryDirectory(prefix="rag-embedding-study-") as tmp:
        work = Path(tmp)
        questions = write_corpus(work / "corpus", articles)
        encoders = {name: load() for name, load in candidates(work).items()}
        rows: dict[str, dict[str, Any]] = {name: {"backend": name} for name in encoders}
        reference = next(iter(encoders))
        texts: list[str] = []
        for n, (name, encoder) in enumerate(encoders.items()):
            docs = work / "corpus" / "docs"
            pipeline = build_pipeline(Settings(docs_dir=docs, index_dir=work / f"index-{n}"))
            pipeline.store.embeddings = SentenceEmbeddings(encoder, PACKAGED_MODEL, 32, name)
            started = time.perf_counter()
            pipeline.ingest(reset=True)
            rows[name]["index_s"] = round(time.perf_counter() - started, 1)
            rows[name] |= retrieval_quality(pipeline, questions)
            if not texts:
                snapshot = pipeline.store.require_snapshot()
                chunks = list(itertools.islice(snapshot.every_chunk(), 400))
                texts = [chunk.text for chunk in chunks]
                texts += [s.text for chunk in chunks for s in chunk.sentences][:600]
        vectors = {name: e.encode(texts, 32) for name, e in encoders.items()}
        for name in encoders:
            cosine = np.sum(vectors[name] * vectors[reference], axis=1)
            rows[name]["cos_min"] = round(float(cosine.min()), 4)
            rows[name]["cos_mean"] = round(float(cosine.mean()), 4)
        rates: dict[str, list[float]] = {name: [] for name in encoders}
        for _ in range(rounds):
            for name, encoder in encoders.items():
                started = time.perf_counter()
                encoder.encode(texts, 32)
                rates[name].append(len(texts) / (time.perf_counter() - started))
        for name in encoders:
            rows[name]["texts_per_s"] = round(statistics.median(rates[name]), 1)
        return list(rows.values())


def main() -> None:
    parser = argparse.ArgumentParser(description="Compare local embedding backends.")
    parser.add_argument("--articles", type=int, default=531)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for row in study(args.articles, args.rounds):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
