"""What `rag bench` measures on, and the callables it is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.app import Pipeline

RetrievalQuality = Callable[["Pipeline", Path], dict[str, float]]
Progress = Callable[[str], None]


@dataclass
class BenchOptions:
    """What to measure on, and for how long."""

    docs: Path | None = None  # None: a synthetic news corpus of `articles` articles
    questions: Path | None = None
    concurrency: int = 20
    duration_s: float = 30.0
    articles: int = 531
    repeats: int = 20
    index_rounds: int = 2
    replicas: int = 2  # server mode (RAG_CHROMA_URL set): replicas sharing the Chroma server
    backend: str = "int8"  # the configured backend, compared with plain fp32
    fp32: bool = True  # False: skip the fp32 comparison (large corpora)
