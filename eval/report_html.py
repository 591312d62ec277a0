"""report.html: one self-contained page (inline CSS, plots as embedded PNGs, no external links)."""

from __future__ import annotations

import base64
import functools
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment

from rag.templating import template_environment

from .gates import Gate, bound, format_delta
from .plots import latency_histogram, metric_bars
from .report_md import run_line
from .summary import METRICS, format_value, review_order

TEMPLATES = Path(__file__).parent / "templates"
TILES = ("hit@3", "must_include", "citation_validity", "refusal_accuracy", "false_refusal_rate")


@functools.cache
def _templates() -> Environment:
    return template_environment(TEMPLATES, html.escape)


def render_html(
    report: dict[str, Any], gates: Sequence[Gate] = (), previous: dict[str, Any] | None = None
) -> str:
    """The whole page."""
    metrics = report["metrics"]
    latencies = [q["latency_ms"] for q in report["per_question"]]
    ordered = review_order(report["per_question"])
    failed = sum(not q["passed"] for q in ordered)
    plots = [
        (metric_bars(metrics, gates, previous), "metric bars"),
        (
            latency_histogram(latencies, metrics["latency_p50_ms"], metrics["latency_p95_ms"]),
            "latency distribution",
        ),
    ]
    return (
        _templates()
        .get_template("report.html")
        .render(
            run_line=run_line(report["config"], code=""),
            gates=report.get("gates", []),
            failed_gates=[gate_row(g) for g in report.get("gates", []) if not g["passed"]],
            tiles=tiles(report, failed),
            compared=bool(report.get("compare")),
            metric_rows=metric_rows(report),
            plots=[(base64.b64encode(png).decode(), alt) for png, alt in plots],
            failed=failed,
            questions=[(q, scores(q)) for q in ordered],
        )
    )


def tiles(report: dict[str, Any], failed: int) -> list[tuple[str, str]]:
    """The headline numbers, as (value, label) cards."""
    total = report["config"]["question_count"]
    cards = [(f"{total - failed}/{total}", "questions without problems")]
    cards += [(format_value(n, report["metrics"].get(n)), n) for n in TILES]
    cards.append(
        (format_value("latency_p50_ms", report["metrics"]["latency_p50_ms"]), "p50 latency")
    )
    return cards


def gate_row(gate: dict[str, Any]) -> dict[str, str]:
    """A failed gate as the banner lists it."""
    return {
        "metric": gate["metric"],
        "value": format_value(gate["metric"], gate["value"]),
        "bound": bound(gate["kind"], gate["threshold"], symbols=True),
    }


def metric_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Value, how many questions it averages over, change vs an earlier run, meaning."""
    deltas = {row["metric"]: row for row in report.get("compare", [])}
    rows = []
    group = ""
    for name, info in METRICS.items():
        change = deltas.get(name, {})
        direction = "" if info.higher_is_better else " (lower is better)"
        rows.append(
            {
                "group": info.group if info.group != group else "",
                "name": name,
                "value": format_value(name, report["metrics"].get(name)),
                "count": report["config"]["metric_counts"].get(name, 0),
                "delta": format_delta(name, change.get("delta")) if change else "",
                "verdict": change.get("verdict", ""),
                "meaning": info.description + direction,
            }
        )
        group = info.group
    return rows


def scores(q: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs for the scores column: rank, the scores that apply, latency."""
    s = q["scores"]
    items = [("rank", str(q["first_relevant_rank"] or ("–" if s["hit@k"] is None else "miss")))]
    for label, name in (
        ("recall", "context_recall"),
        ("F1", "token_f1"),
        ("sim", "semantic_similarity"),
        ("support", "citation_support"),
    ):
        if s.get(name) is not None:
            items.append((label, f"{s[name]:.2f}"))
    items.append(("latency", f"{q['latency_ms']:.0f} ms"))
    return items
