"""int8 embeddings: the local sentence-transformers model exported to ONNX, dynamically quantized.

sentence-transformers' own `backend="onnx"` needs optimum-onnx, which requires transformers<4.58
(this stack has 5.x), so the same recipe runs directly: torch.onnx export of the transformer,
onnxruntime dynamic int8 quantization (int8 weights per channel, uint8 activations), mean pooling
and normalisation in numpy. The export is made once per model into a cache folder, never downloaded.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ModelError

log = logging.getLogger(__name__)

EXPORT_VERSION = "1"  # part of the cache key: bump when the recipe below changes
MIN_PROBE_COSINE = 0.97  # an export whose int8 vectors drift further from fp32 is rejected
PROBES = [
    "Diplomatic efforts in London to end the fighting hit a wall this week.",
    "Who is the special envoy?",
    "The central bank raised interest rates by a quarter point on Tuesday, citing inflation.",
    "Floods closed 14 schools across the region.",
]


def default_cache_dir() -> Path:
    """Where exported models are kept: $XDG_CACHE_HOME/rag-news or ~/.cache/rag-news."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-news"


def pooling_of(model_path: Path) -> tuple[str, int]:
    """(pooling mode, max tokens) from the sentence-transformers config files."""
    pooling_file = model_path / "1_Pooling" / "config.json"
    mode = "mean"
    if pooling_file.exists():
        config = json.loads(pooling_file.read_text(encoding="utf-8"))
        if config.get("pooling_mode_cls_token"):
            mode = "cls"
        elif not config.get("pooling_mode_mean_tokens", True):
            raise ModelError("the int8 backend supports mean or CLS pooling only")
    max_length = 256
    st_config = model_path / "sentence_bert_config.json"
    if st_config.exists():
        max_length = int(
            json.loads(st_config.read_text(encoding="utf-8")).get("max_seq_length", 256)
        )
    return mode, max_length


def cache_key(model_path: Path) -> str:
    """Changes with the weights, config, exporter or quantizer (cheap: imports no torch)."""
    from importlib.metadata import version

    recipe = f"{EXPORT_VERSION}|{version('torch')}|{version('onnxruntime')}"
    digest = hashlib.sha256(recipe.encode())
    for name in ("config.json", "tokenizer.json", "model.safetensors", "pytorch_model.bin"):
        path = model_path / name
        if path.exists():
            stat = path.stat()  # weights by size and mtime: hashing 90 MB per start is too slow
            digest.update(f"{name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
            if path.suffix == ".json":
                digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def int8_model_file(model_path: Path, cache_dir: Path) -> Path:
    """The quantized ONNX file for `model_path`, exported into `cache_dir` the first time."""
    folder = cache_dir / "onnx-int8" / f"{model_path.name}-{cache_key(model_path)}"
    target = folder / "model_int8.onnx"
    if target.exists():
        return target
    with _locked(folder.with_suffix(".lock")):
        if not target.exists():  # another process may have exported it while we waited
            log.info("exporting %s to int8 ONNX in %s (once)", model_path, folder)
            export_int8(model_path, folder)
    return target


def export_int8(model_path: Path, folder: Path) -> None:
    """Export, quantize and check the model; the folder appears complete or not at all."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()
        encoder = OnnxInt8Encoder.tokenizer_only(model_path)
        reference = reference_vectors(model, encoder)  # before export, which alters the module
        inputs = model_inputs(model, encoder, PROBES[:2])
        names = list(inputs)

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = model

            def forward(self, *args: Any) -> Any:
                return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

        with torch.no_grad(), _quiet():
            torch.onnx.export(
                Wrapped(),
                tuple(inputs.values()),
                str(work / "model.onnx"),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
            quantize_dynamic(
                work / "model.onnx",
                work / "model_int8.onnx",
                weight_type=QuantType.QInt8,
                per_channel=True,
            )
        (work / "model.onnx").unlink()
        check_export(reference, work / "model_int8.onnx", model_path)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter and quantizer warn about things that do not apply here."""
    import warnings

    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.getLogger().setLevel(level)


def model_inputs(model: Any, encoder: OnnxInt8Encoder, texts: list[str]) -> dict[str, Any]:
    """Torch inputs for `texts`, with token types when the model takes them."""
    import torch

    ids, mask = encoder.tokenize(texts)
    inputs = {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}
    if encoder.wants_token_types(model):
        inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
    return inputs


def reference_vectors(model: Any, encoder: OnnxInt8Encoder) -> np.ndarray:
    """fp32 vectors of the probe sentences from the torch model."""
    import torch

    inputs = model_inputs(model, encoder, PROBES)
    with torch.no_grad():
        hidden = model(**inputs).last_hidden_state.numpy()
    return encoder.pool(hidden, inputs["attention_mask"].numpy())


def check_export(reference: np.ndarray, onnx_file: Path, model_path: Path) -> None:
    """Reject an export whose int8 vectors are far from the fp32 model's."""
    encoder = OnnxInt8Encoder(onnx_file, model_path)
    cosine = float(np.min(np.sum(reference * encoder.encode(PROBES), axis=1)))
    if cosine < MIN_PROBE_COSINE:
        raise ModelError(
            f"the int8 export of {model_path} drifts too far from fp32 (cos {cosine:.3f})"
        )
    log.info("int8 export checked: min cosine to fp32 %.4f", cosine)


class OnnxInt8Encoder:
    """Tokenize (Rust tokenizers), run the quantized model (onnxruntime), pool, normalise."""

    def __init__(self, onnx_file: Path | None, model_path: Path, threads: int = 0) -> None:
        from tokenizers import Tokenizer

        tokenizer_file = model_path / "tokenizer.json"
        if not tokenizer_file.exists():
            raise ModelError(f"the int8 backend needs {tokenizer_file}")
        self.pooling, self.max_length = pooling_of(model_path)
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()
        self.session: Any = None
        self.input_names: list[str] = []
        if onnx_file is not None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            self.session = ort.InferenceSession(
                str(onnx_file), options, providers=["CPUExecutionProvider"]
            )
            self.input_names = [i.name for i in self.session.get_inputs()]

    @classmethod
    def tokenizer_only(cls, model_path: Path) -> OnnxInt8Encoder:
        return cls(None, model_path)

    @staticmethod
    def wants_token_types(model: Any) -> bool:
        import inspect

        return "token_type_ids" in inspect.signature(model.forward).parameters

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, padded to the longest text."""
        encoded = self.tokenizer.encode_batch(texts)
        width = max((len(e.ids) for e in encoded), default=0)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        return ids, mask

    def pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean (or CLS) pooling, then unit length."""
        if self.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def encode(self, texts: list[str], batch_size: int = 32, **_: Any) -> np.ndarray:
        """Unit vectors for `texts` (same call shape as SentenceTransformer.encode)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # batches of alike length
        result: list[np.ndarray] = [np.empty(0)] * len(texts)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, mask = self.tokenize([texts[i] for i in rows])
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.input_names:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feed)[0]
            for row, vector in zip(rows, self.pool(hidden, mask), strict=True):
                result[row] = vector
        return np.stack(result)
