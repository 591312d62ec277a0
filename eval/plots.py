"""Report figures as PNG bytes (matplotlib, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from .gates import Gate
from .summary import METRICS, RATIO_METRICS

BAD, NEUTRAL, INK = "#c0392b", "#4a6fa5", "#333333"
GROUP_COLORS = {
    "retrieval": "#4a6fa5",
    "answer": "#5e9c76",
    "citations": "#8a6bb1",
    "refusals": "#d08c3f",
}


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buffer.getvalue()


def metric_bars(
    metrics: dict[str, float | None],
    gates: Sequence[Gate] = (),
    previous: dict[str, Any] | None = None,
) -> bytes:
    """Horizontal bars of the 0-1 metrics by group; gates as black ticks, an earlier run as ◇."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.lines
    import matplotlib.patches
    import matplotlib.pyplot as plt

    present = {n: float(value) for n in RATIO_METRICS if (value := metrics.get(n)) is not None}
    names, values = list(present), list(present.values())
    thresholds = {g.metric: g for g in gates}
    figure, axes = plt.subplots(figsize=(9, 0.36 * len(names) + 1.0))
    rows = list(range(len(names)))[::-1]
    colors = [GROUP_COLORS[METRICS[n].group] for n in names]
    axes.barh(rows, values, color=colors, height=0.64)
    for row, name, value in zip(rows, names, values, strict=True):
        label, color = f"{value:.3f}", INK
        gate = thresholds.get(name)
        if gate is not None:
            axes.plot([gate.threshold] * 2, [row - 0.42, row + 0.42], color=INK, lw=2.2)
            label += "  ✓" if gate.passes(value) else f"  ✗ gate {gate.threshold:g}"
            color = INK if gate.passes(value) else BAD
        axes.text(1.03, row, label, va="center", fontsize=9, color=color)  # a column: no overlaps
        if previous and isinstance(previous.get(name), (int, float)):
            axes.plot(previous[name], row, marker="D", mfc="white", mec=INK, ms=6, lw=0)
    labels = [n if METRICS[n].higher_is_better else f"{n} (lower is better)" for n in names]
    axes.set_yticks(rows, labels, fontsize=9)
    axes.set_xlim(0, 1.25)
    axes.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    axes.spines["bottom"].set_bounds(0, 1)
    axes.grid(axis="x", color="#dddddd", lw=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    handles: list[Any] = [
        matplotlib.patches.Patch(color=color, label=group)
        for group, color in GROUP_COLORS.items()
        if any(METRICS[n].group == group for n in names)
    ]
    if gates:
        handles.append(matplotlib.lines.Line2D([], [], color=INK, lw=2, label="gate"))
    if previous:
        handles.append(
            matplotlib.lines.Line2D(
                [], [], marker="D", mfc="white", mec=INK, lw=0, label="earlier run"
            )
        )
    axes.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.45, 1.0),
        ncol=len(handles),
        frameon=False,
        fontsize=8.5,
    )
    return _png(figure)


def latency_histogram(latencies_ms: Sequence[float], p50: float | None, p95: float | None) -> bytes:
    """Per-question latency with the p50 and p95 marked (a log axis for long tails)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import numpy as np

    figure, axes = plt.subplots(figsize=(8.5, 2.8))
    if latencies_ms:
        bins: Any = min(30, max(5, len(latencies_ms) // 2))
        low, high = max(min(latencies_ms), 0.1), max(latencies_ms)
        if (
            high / low > 20
        ):  # a long tail (a cold first question) would squash the rest into one bar
            bins = np.geomspace(low, high * 1.001, bins + 1)
            axes.set_xscale("log")
            axes.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axes.hist(latencies_ms, bins=bins, color=NEUTRAL, alpha=0.85)
    for value, label, style in ((p50, "p50", "--"), (p95, "p95", ":")):
        if value is not None:
            axes.axvline(value, color=INK, ls=style, lw=1.5, label=f"{label} {value:.0f} ms")
    axes.set_xlabel(
        "latency per question (ms)" + (", log scale" if axes.get_xscale() == "log" else ""),
        fontsize=9,
    )
    axes.set_ylabel("questions", fontsize=9)
    axes.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes.set_title("Latency distribution", fontsize=10, loc="left")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if p50 is not None:
        axes.legend(frameon=False, fontsize=9)
    return _png(figure)
