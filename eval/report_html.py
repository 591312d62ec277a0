"""report.html: one self-contained page (inline CSS, plots as embedded PNGs, no external links)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from typing import Any

from .gates import Gate, bound, format_delta
from .plots import latency_histogram, metric_bars
from .report_md import run_line
from .summary import METRICS, format_value, review_order

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0;
  background:#f4f5f7}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px}
.run{color:#555;font-size:13px}
.card{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:14px 18px;margin:12px 0}
.banner{font-weight:600;border-radius:8px;padding:10px 16px;margin:16px 0}
.banner.pass{background:#e6f4ea;color:#1e5631;border:1px solid #b7dfc3}
.banner.fail{background:#fdecea;color:#8a1c12;border:1px solid #f5c2bd}
.banner ul{margin:6px 0 0 18px;font-weight:400}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;vertical-align:top;padding:7px 10px;border-bottom:1px solid #eceef1}
th{background:#fafbfc;font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#555}
.metrics td.v{font-variant-numeric:tabular-nums;font-weight:600;white-space:nowrap}
.metrics td.n,.metrics td.d{color:#666;white-space:nowrap;font-variant-numeric:tabular-nums}
.better{color:#1e7b3c}.worse{color:#b3261e}
.plots img{max-width:100%;display:block;margin:6px auto}
.qs td{font-size:13px}
.qs tr.fail td:first-child{border-left:4px solid #c0392b}
.qs tr.pass td:first-child{border-left:4px solid #2f7d4f}
.qs tr.fail{background:#fffafa}
.status{font-weight:700;white-space:nowrap}.fail .status{color:#b3261e}.pass .status{color:#1e7b3c}
.id{color:#666;font-size:12px;font-family:ui-monospace,monospace}
.problems{margin:6px 0 0;padding-left:16px;color:#8a1c12;font-size:12px}
.hist{color:#666;font-size:12px;border-left:2px solid #ddd;padding-left:6px;margin-bottom:4px}
.refused{color:#777;font-style:italic}
.cites{margin:6px 0 0;padding-left:0;list-style:none;color:#555;font-size:12px}
.chip{display:inline-block;border-radius:10px;padding:0 7px;margin:1px 2px;font-size:12px}
.chip.ok{background:#e6f4ea;color:#1e5631}.chip.miss{background:#fdecea;color:#8a1c12}
.label{color:#777;font-size:11px;text-transform:uppercase;letter-spacing:.03em}
details summary{cursor:pointer;color:#4a6fa5;font-size:12px}
blockquote{margin:4px 0;padding:2px 8px;border-left:3px solid #c9d3e3;color:#444;font-size:12px}
.tiles{display:flex;gap:10px;margin:18px 0 4px;flex-wrap:wrap}
.tile{flex:1 1 120px;background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:10px 12px}
.tile b{display:block;font-size:22px;font-variant-numeric:tabular-nums}
.tile span{color:#666;font-size:12px}
.metrics tr.group td{background:#f6f8fa;font-size:11px;text-transform:uppercase;
  letter-spacing:.05em;
  color:#4a6fa5;font-weight:600;padding:4px 10px}
.scores{white-space:nowrap;font-size:12px;color:#444;font-variant-numeric:tabular-nums}
"""


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def render_html(
    report: dict[str, Any], gates: Sequence[Gate] = (), previous: dict[str, Any] | None = None
) -> str:
    """The whole page."""
    metrics, config = report["metrics"], report["config"]
    latencies = [q["latency_ms"] for q in report["per_question"]]
    ordered = review_order(report["per_question"])
    failed = sum(not q["passed"] for q in ordered)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Evaluation report</title><style>{STYLE}</style></head><body><main>",
        "<h1>Evaluation report</h1>",
        f"<div class='run'>{escape(run_line(config))}</div>",
        gate_banner(report.get("gates", [])),
        tiles(report, failed),
        "<h2>Metrics</h2>",
        metrics_table(report),
        "<div class='card plots'>",
        _img(metric_bars(metrics, gates, previous), "metric bars"),
        _img(
            latency_histogram(latencies, metrics["latency_p50_ms"], metrics["latency_p95_ms"]),
            "latency distribution",
        ),
        "</div>",
        f"<h2>Questions: {failed} of {len(ordered)} with problems, shown first</h2>",
        question_table(ordered),
        "</main></body></html>",
    ]
    return "\n".join(parts)


TILES = ("hit@3", "must_include", "citation_validity", "refusal_accuracy", "false_refusal_rate")


def tiles(report: dict[str, Any], failed: int) -> str:
    """The headline numbers in a row of cards."""
    total = report["config"]["question_count"]
    cards = [(f"{total - failed}/{total}", "questions without problems")]
    cards += [(format_value(n, report["metrics"].get(n)), n) for n in TILES]
    cards.append(
        (format_value("latency_p50_ms", report["metrics"]["latency_p50_ms"]), "p50 latency")
    )
    return (
        "<div class='tiles'>"
        + "".join(
            f"<div class='tile'><b>{escape(value)}</b><span>{escape(label)}</span></div>"
            for value, label in cards
        )
        + "</div>"
    )


def gate_banner(gates: list[dict[str, Any]]) -> str:
    """Green when every gate passes, red with the failing ones listed."""
    if not gates:
        return ""
    failed = [g for g in gates if not g["passed"]]
    if not failed:
        return f"<div class='banner pass'>All {len(gates)} gates pass.</div>"
    items = "".join(
        f"<li>{escape(g['metric'])} = {escape(format_value(g['metric'], g['value']))}, needs "
        f"{bound(g['kind'], g['threshold'], symbols=True)}</li>"
        for g in failed
    )
    return (
        f"<div class='banner fail'>{len(failed)} of {len(gates)} gates fail<ul>{items}</ul></div>"
    )


def metrics_table(report: dict[str, Any]) -> str:
    """Value, how many questions it averages over, change vs an earlier run, meaning."""
    deltas = {row["metric"]: row for row in report.get("compare", [])}
    head = "<tr><th>metric</th><th>value</th><th>questions</th>"
    head += "<th>change</th>" if deltas else ""
    rows = [head + "<th>meaning</th></tr>"]
    columns = 5 if deltas else 4
    group = ""
    for name, info in METRICS.items():
        if info.group != group:
            group = info.group
            rows.append(f"<tr class='group'><td colspan='{columns}'>{escape(group)}</td></tr>")
        value = format_value(name, report["metrics"].get(name))
        n = report["config"]["metric_counts"].get(name, 0)
        change = ""
        if deltas:
            row = deltas[name]
            change = (
                f"<td class='d {row['verdict']}'>{escape(format_delta(name, row['delta']))}"
                f" {escape(row['verdict'])}</td>"
            )
        direction = "" if info.higher_is_better else " (lower is better)"
        rows.append(
            f"<tr><td>{escape(name)}</td><td class='v'>{escape(value)}</td>"
            f"<td class='n'>{n}</td>{change}<td>{escape(info.description + direction)}</td></tr>"
        )
    return f"<table class='metrics card'>{''.join(rows)}</table>"


def question_table(ordered: list[dict[str, Any]]) -> str:
    """One row per question: status and problems, question, answer, expected, scores."""
    rows = ["<tr><th></th><th>question</th><th>answer</th><th>expected</th><th>scores</th></tr>"]
    for q in ordered:
        status = "pass" if q["passed"] else "fail"
        problems = "".join(f"<li>{escape(p)}</li>" for p in q["failures"])
        history = "".join(
            f"<div class='hist'>{escape(t['role'])}: {escape(t['content'])}</div>"
            for t in q["history"]
        )
        rows.append(
            f"<tr class='{status}'><td class='status'>{'✓ pass' if q['passed'] else '✗ fail'}</td>"
            f"<td><div class='id'>{escape(q['id'])}</div>{history}{escape(q['question'])}"
            f"{f'<ul class=problems>{problems}</ul>' if problems else ''}</td>"
            f"<td>{answer_cell(q)}</td><td>{expected_cell(q)}</td><td>{scores_cell(q)}</td></tr>"
        )
    return f"<table class='qs card'>{''.join(rows)}</table>"


def answer_cell(q: dict[str, Any]) -> str:
    if q["refused"]:
        return f"<span class='refused'>refused: {escape(q['answer'])}</span>"
    cites = "".join(
        f"<li>[{c['n']}] {escape(c['source'])}, chars {c['start']}–{c['end']}</li>"
        for c in q["citations"]
    )
    return f"{escape(q['answer'])}<ul class='cites'>{cites}</ul>"


def expected_cell(q: dict[str, Any]) -> str:
    expected = q["expected"]
    if not q["answerable"]:
        return "<span class='label'>a refusal</span> (the documents don't answer this)"
    parts = []
    if expected["reference"]:
        parts.append(f"{escape(expected['reference'])}")
    if expected["must_include"]:
        missing = q["missing"]
        chips = "".join(
            f"<span class='chip {'miss' if group in missing else 'ok'}'>"
            f"{escape(' / '.join(group))}</span>"
            for group in expected["must_include"]
        )
        parts.append(f"<div><span class='label'>must include</span> {chips}</div>")
    passages = expected["reference_contexts"]
    if passages:
        quotes = "".join(f"<blockquote>{escape(p)}</blockquote>" for p in passages)
        parts.append(
            f"<details><summary>{len(passages)} gold passage(s)</summary>{quotes}</details>"
        )
    return "".join(parts) or "<span class='label'>no reference given</span>"


def scores_cell(q: dict[str, Any]) -> str:
    s = q["scores"]
    items = [("rank", q["first_relevant_rank"] or ("–" if s["hit@k"] is None else "miss"))]
    for label, name in (
        ("recall", "context_recall"),
        ("F1", "token_f1"),
        ("sim", "semantic_similarity"),
        ("support", "citation_support"),
    ):
        if s.get(name) is not None:
            items.append((label, f"{s[name]:.2f}"))
    items.append(("latency", f"{q['latency_ms']:.0f} ms"))
    return (
        "<div class='scores'>" + "<br>".join(f"{k}: {escape(str(v))}" for k, v in items) + "</div>"
    )
