"""Where locally made model exports are kept, and the key that tells when one is stale."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

EXPORT_VERSION = "1"  # part of the cache key: bump when the export recipe changes


def default_cache_dir() -> Path:
    """Where exported models are kept: $XDG_CACHE_HOME/rag-news or ~/.cache/rag-news."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-news"


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
