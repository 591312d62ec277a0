"""report.md: the run's numbers and its failures, readable in a terminal or a pull request."""

from __future__ import annotations

from typing import Any

from .gates import bound, format_delta
from .summary import METRICS, format_value, review_order


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def plural(count: int, noun: str) -> str:
    """`1 document`, `2 documents`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def run_line(config: dict[str, Any], code: str = "`") -> str:
    """One line saying what was run; `code` marks paths (Markdown backticks; nothing in HTML)."""
    return (
        f"{plural(config['question_count'], 'question')} from {code}{config['questions']}{code} "
        f"({config['answerable']} answerable, {config['unanswerable']} unanswerable, "
        f"{plural(config['follow_ups'], 'follow-up')}) · "
        f"{plural(config['documents'], 'document')}, {plural(config['chunks'], 'chunk')} "
        f"in {code}{config['index_dir']}{code} · k={config['k']} · "
        f"answerer {config.get('answerer', 'extractive')} · {refusal(config)} · "
        f"{config['started_at']} · {config['duration_s']} s"
    )


def refusal(config: dict[str, Any]) -> str:
    """What ranked and what refused at which threshold (reports before these keys: the latter)."""
    threshold = f"refusal threshold {config['refusal_threshold']}"
    if "answer_scorer" not in config:
        return threshold
    gate = f"refusal gate {config['refusal_gate']} at {config['refusal_threshold']}"
    return f"ranked by {config['answer_scorer']} · {gate}"


def render_markdown(report: dict[str, Any]) -> str:
    """The whole report.md."""
    config, metrics = report["config"], report["metrics"]
    lines = ["# Evaluation report", "", run_line(config), ""]
    if report.get("gates"):
        lines += ["## Gates", "", "| gate | value | result |", "|---|---|---|"]
        for gate in report["gates"]:
            result = "pass" if gate["passed"] else "**FAIL**"
            lines.append(
                f"| {gate['metric']} {bound(gate['kind'], gate['threshold'])} | "
                f"{format_value(gate['metric'], gate['value'])} | {result} |"
            )
        lines.append("")
    deltas = {row["metric"]: row for row in report.get("compare", [])}
    header = "| metric | value | questions | " + ("change | " if deltas else "") + "meaning |"
    lines += ["## Metrics", "", header, "|---|---|---|" + ("---|" if deltas else "") + "---|"]
    for name, info in METRICS.items():
        change = ""
        if deltas:
            row = deltas[name]
            change = f"{format_delta(name, row['delta'])} ({row['verdict']}) | "
        lines.append(
            f"| {name} | {format_value(name, metrics.get(name))} | "
            f"{config['metric_counts'].get(name, 0)} | {change}{info.description} |"
        )
    ordered = review_order(report["per_question"])
    failed = [q for q in ordered if not q["passed"]]
    lines += ["", f"## Failures ({len(failed)} of {len(ordered)})", ""]
    for q in failed:
        lines += question_block(q)
    lines += [
        "## All questions",
        "",
        "| | id | question | answer | first relevant rank | must_include | token F1 | latency |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for q in ordered:
        s = q["scores"]
        answer = "(refused)" if q["refused"] else q["answer"]
        lines.append(
            f"| {'✗' if not q['passed'] else '✓'} | {cell(q['id'])} | {cell(q['question'])} | "
            f"{cell(answer[:160])} | {q['first_relevant_rank'] or '–'} | "
            f"{_score(s['must_include'])} | {_score(s['token_f1'])} | {q['latency_ms']:.0f} ms |"
        )
    return "\n".join(lines) + "\n"


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def question_block(q: dict[str, Any]) -> list[str]:
    """A failing question: what was asked, what came back, what was expected, what went wrong."""
    expected = q["expected"]
    lines = [f"### {q['id']}: {cell(q['question'])}", ""]
    for turn in q["history"]:
        lines.append(f"- earlier {turn['role']}: {cell(turn['content'])}")
    refused = "(refused) " if q["refused"] else ""
    lines.append(f"- **answer**: {refused}{cell(q['answer'])}")
    if not q["answerable"]:
        lines.append("- **expected**: a refusal (the documents don't answer this)")
    if expected["reference"]:
        lines.append(f"- **reference**: {cell(expected['reference'])}")
    if expected["must_include"]:
        groups = "; ".join(" or ".join(f"“{a}”" for a in g) for g in expected["must_include"])
        lines.append(f"- **must include**: {groups}")
    for passage in expected["reference_contexts"]:
        lines.append(f"- gold passage: “{cell(passage)}”")
    for problem in q["failures"]:
        lines.append(f"- problem: {cell(problem)}")
    return [*lines, ""]
