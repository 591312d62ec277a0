"""Ordering fused rankings: one chunk per article before any article's second chunk.

On the 2022 development set (`python -m rag.evaluation.fusion_study`, hit@5): dense 0.860,
BM25 0.927, RRF 0.900, RRF with one chunk per article first 0.920, weighted sum (0.4 dense)
with one chunk per article first 0.960. The weighted sum lowers the seed set's must_include
(0.787 -> 0.762), so the retriever's default stays RRF with one chunk per article first
(seed unchanged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PER_SOURCE = 1  # chunks of one article ranked before any article's next chunk


def one_per_source(
    ranked: list[int], sources: Mapping[int, str] | Sequence[str], per_source: int
) -> list[int]:
    """Keep the order, but move an article's chunks beyond the first `per_source` to the end."""
    if per_source <= 0:
        return ranked
    taken: dict[str, int] = {}
    first: list[int] = []
    later: list[int] = []
    for row in ranked:
        source = sources[row]
        (first if taken.get(source, 0) < per_source else later).append(row)
        taken[source] = taken.get(source, 0) + 1
    return first + later
