"""What `rag eval` prints: the metrics, the deltas against an earlier run, the gate verdicts."""

from __future__ import annotations

from typing import Any

from .gates import bound, format_delta
from .summary import METRICS, format_value


def metric_lines(report: dict[str, Any]) -> list[str]:
    """One aligned line per metric with the number of questions it averages over."""
    counts = report["config"]["metric_counts"]
    width = max(len(name) for name in METRICS)
    return [
        f"{name:<{width}}  {format_value(name, value):>9}  (n={counts.get(name, 0)})"
        for name, value in ((n, report["metrics"].get(n)) for n in METRICS)
    ]


def compare_lines(rows: list[dict[str, Any]], previous_path: str) -> list[str]:
    """Per-metric before → after (delta, verdict)."""
    width = max(len(name) for name in METRICS)
    lines = [f"compared with {previous_path}:"]
    for row in rows:
        name = row["metric"]
        before = row["before"] if isinstance(row["before"], (int, float)) else None
        lines.append(
            f"{name:<{width}}  {format_value(name, before):>9} -> "
            f"{format_value(name, row['after']):>9}  "
            f"{format_delta(name, row['delta']):>9}  {row['verdict']}"
        )
    return lines


def gate_lines(report: dict[str, Any]) -> list[str]:
    """pass/FAIL per gate."""
    lines = []
    for gate in report.get("gates", []):
        verdict = "pass" if gate["passed"] else "FAIL"
        lines.append(
            f"gate {gate['metric']} {bound(gate['kind'], gate['threshold'])}: "
            f"{format_value(gate['metric'], gate['value'])} {verdict}"
        )
    return lines
