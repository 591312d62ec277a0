"""int8 embeddings: the local sentence-transformers model exported to ONNX, dynamically quantized.

sentence-transformers' own `backend="onnx"` needs optimum-onnx, which requires transformers<4.58
(this stack has 5.x), so the same recipe runs directly: torch.onnx export of the transformer,
onnxruntime dynamic int8 quantization (int8 weights per channel, uint8 activations), mean pooling
and normalisation in numpy. The export is made once per model into a cache folder, never downloaded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from rag.embeddings.cache import cache_key
from rag.embeddings.int8 import OnnxInt8Encoder
from rag.errors import ModelError

log = logging.getLogger(__name__)

MIN_PROBE_COSINE = 0.97  # an export whose int8 vectors drift further from fp32 is rejected
PROBES = [
    "Diplomatic efforts in London to end the fighting hit a wall this week.",
    "Who is the special envoy?",
    "The central bank raised interest rates by a quarter point on Tuesday, citing inflation.",
    "Floods closed 14 schools across the region.",
]


def int8_model_file(model_path: Path, cache_dir: Path) -> Path:
    """The quantized ONNX file for `model_path`, exported into `cache_dir` the first time."""
    folder = cache_dir / "onnx-int8" / f"{model_path.name}-{cache_key(model_path)}"
    target = folder / "model_int8.onnx"
    if target.exists():
        return target
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(folder.with_suffix(".lock")):
        if not target.exists():  # another process may have exported it while we waited
            log.info("exporting %s to int8 ONNX in %s (once)", model_path, folder)
            export_int8(model_path, folder)
    return target


def export_int8(model_path: Path, folder: Path) -> None:
    """Export, quantize and check the model; the folder appears complete or not at all."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()
        encoder = OnnxInt8Encoder.tokenizer_only(model_path)
        reference = reference_vectors(model, encoder)  # before export, which alters the module
        export_onnx(model, encoder, work / "model.onnx")
        with _quiet():
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


def export_onnx(model: Any, encoder: OnnxInt8Encoder, target: Path) -> None:
    """The transformer (token embeddings out) as an fp32 ONNX graph with dynamic shapes."""
    import torch

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
            str(target),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
            opset_version=17,
            dynamo=False,
        )


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
