"""Progress bars on stderr for indexing and answering (tqdm)."""

from __future__ import annotations

import sys
from typing import Any

from rag.ingest.pipeline import IngestProgress

from .question import Question


class IngestBar:
    """An ingest `progress` callback that drives a bar; shows nothing when nothing is indexed."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, step: IngestProgress) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(
                total=step.total, desc="indexing", unit="doc", file=sys.stderr, dynamic_ncols=True
            )
        self.bar.n = step.done
        self.bar.set_postfix_str(step.note or step.source[-40:], refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.n = self.bar.total or self.bar.n
            self.bar.close()


class QuestionBar:
    """A per-question `on_answer` callback that drives a bar."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total, desc="questions", unit="q", file=sys.stderr, dynamic_ncols=True
        )

    def __call__(self, question: Question) -> None:
        self.bar.set_postfix_str(question.id[-30:], refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
