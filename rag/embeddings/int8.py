"""The int8 encoder: Rust tokenizers, the quantized ONNX model on onnxruntime, numpy pooling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rag.embeddings.late import Span, SpanVectors, encode_late, padded
from rag.errors import ModelError


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
        return padded(self.tokenizer.encode_batch(texts))

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token embeddings (batch x tokens x dim) of padded token ids."""
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden: np.ndarray = self.session.run(None, feed)[0]
        return hidden

    def pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean (or CLS) pooling, then unit length."""
        if self.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit vectors for `texts`."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # batches of alike length
        result: list[np.ndarray] = [np.empty(0)] * len(texts)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, mask = self.tokenize([texts[i] for i in rows])
            for row, vector in zip(rows, self.pool(self.run(ids, mask), mask), strict=True):
                result[row] = vector
        return np.stack(result)

    def encode_late(
        self, texts: list[str], spans: list[list[Span]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[SpanVectors]]:
        """Unit vectors of `texts` and of their character `spans`, one pass each (late.py)."""
        return encode_late(self.tokenizer, self.run, self.pool, texts, spans, batch_size)
