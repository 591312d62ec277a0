"""Pass/fail gates on run metrics (`--min hit@3=0.9`) and deltas against an earlier run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import BadInputError, RagError

from .summary import METRICS, format_value


class GateFailedError(RagError):
    """At least one metric is on the wrong side of its gate."""


@dataclass(frozen=True)
class Gate:
    """`metric` must be >= (kind "min") or <= (kind "max") `threshold`."""

    metric: str
    kind: str
    threshold: float

    def passes(self, value: float | None) -> bool:
        if value is None:
            return False
        return value >= self.threshold if self.kind == "min" else value <= self.threshold

    def describe(self, value: float | None) -> str:
        needs = bound(self.kind, self.threshold)
        return f"{self.metric} = {format_value(self.metric, value)} (needs {needs})"


def bound(kind: str, threshold: float, symbols: bool = False) -> str:
    """A gate's bound as people read it: ">= 0.9" for a min gate, "<= 500" for a max gate."""
    if symbols:
        return f"{'≥' if kind == 'min' else '≤'} {threshold:g}"
    return f"{'>=' if kind == 'min' else '<='} {threshold:g}"


def parse_gate(text: str, kind: str) -> Gate:
    """Parse `METRIC=VALUE` for a --min or --max option."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise BadInputError(f"--{kind} {text!r}: expected METRIC=VALUE, e.g. --{kind} hit@3=0.9")
    if name not in METRICS:
        raise BadInputError(
            f"--{kind} {text!r}: unknown metric {name!r} (known: {', '.join(METRICS)})"
        )
    try:
        threshold = float(value)
    except ValueError as err:
        raise BadInputError(f"--{kind} {text!r}: {value.strip()!r} is not a number") from err
    better = "higher" if METRICS[name].higher_is_better else "lower"
    if (kind == "min") != METRICS[name].higher_is_better:
        other = "max" if kind == "min" else "min"
        raise BadInputError(f"--{kind} {text!r}: {better} is better for {name}; use --{other}")
    return Gate(name, kind, threshold)


def failed_gates(metrics: dict[str, float | None], gates: list[Gate]) -> list[str]:
    """One line per gate the metrics fail (a metric with no value fails its gate)."""
    return [
        gate.describe(metrics.get(gate.metric))
        for gate in gates
        if not gate.passes(metrics.get(gate.metric))
    ]


def load_previous(path: Path) -> dict[str, Any]:
    """The metrics of an earlier report.json."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadInputError(f"--compare: cannot read {path}: {err}") from err
    if not isinstance(report, dict) or not isinstance(report.get("metrics"), dict):
        raise BadInputError(f"--compare: {path} is not a report.json (no 'metrics' object)")
    return report["metrics"]


def compare(current: dict[str, float | None], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-metric before, after, delta and whether it moved the good way."""
    rows = []
    for name, info in METRICS.items():
        before, after = previous.get(name), current.get(name)
        delta = None
        if isinstance(before, (int, float)) and after is not None:
            delta = round(after - before, 4)
        verdict = "n/a"
        if delta is not None:
            verdict = (
                "same"
                if abs(delta) < 1e-9
                else ("better" if (delta > 0) == info.higher_is_better else "worse")
            )
        rows.append(
            {"metric": name, "before": before, "after": after, "delta": delta, "verdict": verdict}
        )
    return rows


def format_delta(name: str, delta: float | None) -> str:
    """A signed delta in the metric's unit."""
    if delta is None:
        return "n/a"
    return f"{delta:+.1f} ms" if METRICS[name].unit == "ms" else f"{delta:+.3f}"
