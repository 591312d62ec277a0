"""Progress bars on stderr for indexing and answering (tqdm)."""

from __future__ import annotations

import re
import sys
from typing import Any

from .dataset import Question

_STEP = re.compile(r"\[(\d+)/(\d+)\]")


class IngestBar:
    """An ingest `progress` callback that drives a bar; shows nothing when nothing is indexed."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, line: str) -> None:
        from tqdm import tqdm

        step = _STEP.match(line)
        if self.bar is None:
            total = int(step.group(2)) if step else None
            self.bar = tqdm(
                total=total, desc="indexing", unit="doc", file=sys.stderr, dynamic_ncols=True
            )
        if step:
            self.bar.n = int(step.group(1)) - 1  # the callback announces a file before indexing it
            self.bar.set_postfix_str(line[step.end() :].strip()[-40:], refresh=False)
            self.bar.refresh()
        else:
            self.bar.write(f"indexing {line}", file=sys.stderr)

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
