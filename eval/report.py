"""Write a run's four files: report.json, report.md, report.html and ragas.jsonl."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.terminal import for_terminal, json_for_terminal

from .gates import Gate, compare
from .ragas_export import ragas_rows
from .report_html import render_html
from .report_md import render_markdown

FILES = ("report.json", "report.md", "report.html", "ragas.jsonl")


def add_gates_and_comparison(
    report: dict[str, Any], gates: Sequence[Gate], previous: dict[str, Any] | None
) -> None:
    """Record the gate outcomes and the deltas against an earlier run in the report itself."""
    if gates:
        report["gates"] = [
            {
                "metric": g.metric,
                "kind": g.kind,
                "threshold": g.threshold,
                "value": report["metrics"].get(g.metric),
                "passed": g.passes(report["metrics"].get(g.metric)),
            }
            for g in gates
        ]
    if previous is not None:
        report["compare"] = compare(report["metrics"], previous)


def write_reports(
    report: dict[str, Any],
    out_dir: Path,
    text_of: Callable[[str], str],
    gates: Sequence[Gate] = (),
    previous: dict[str, Any] | None = None,
) -> list[Path]:
    """Write all four files into `out_dir` (created if needed); return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / name for name in FILES]
    # report.md and the JSON files are read in terminals too: questions may come from web users
    # (`rag feedback export`), answers from documents
    report_json = json.dumps(report, indent=1, ensure_ascii=False)
    paths[0].write_text(json_for_terminal(report_json) + "\n", encoding="utf-8")
    paths[1].write_text(for_terminal(render_markdown(report)), encoding="utf-8")
    paths[2].write_text(render_html(report, gates, previous), encoding="utf-8")
    rows = ragas_rows(report["per_question"], text_of)
    paths[3].write_text(
        "".join(json_for_terminal(json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
        encoding="utf-8",
    )
    return paths
