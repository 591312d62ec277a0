"""Run `rag eval` through the real entry point with gates, as CI does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

Gates = dict[str, dict[str, float]]


def run_gated_eval(
    questions: Path, docs: Path, work: Path, gates: Gates, timeout_s: float = 600
) -> subprocess.CompletedProcess[str]:
    """`rag eval QUESTIONS --docs DOCS` into `work`, with every `--min`/`--max` gate."""
    arguments = [
        arg
        for option, values in gates.items()
        for metric, value in values.items()
        for arg in (option, f"{metric}={value}")
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run(
        [sys.executable, "-m", "rag", "eval", str(questions), "--docs", str(docs),
         "--index-dir", str(work / "index"), "--out", str(work / "out"), *arguments],
        cwd=work, env=env, capture_output=True, text=True, timeout=timeout_s,
    )  # fmt: skip
