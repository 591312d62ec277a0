"""Compare dense, BM25 and fused rankings on a question set (hit@k by gold source).

    python -m eval.fusion_study --questions Q --docs D --index-dir I

Exact dense scores (all chunk vectors in memory) rather than the HNSW search, so variants differ
only by how the two rankings are fused. Used to choose the fusion on 2022; reported on 2023.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from rag.fusion import one_per_source
from rag.generations.chroma import get_all
from rag.lexical import tokenize, unify_typography
from rag.retrieval import lexical_index

from .dataset import load_questions
from .train_scorer import open_pipeline


def fused_ranking(
    dense: np.ndarray,
    lexical: np.ndarray,
    sources: list[str],
    fetch: int,
    dense_weight: float,
    rrf_k: int,
    per_source: int,
    depth: int,
    linear: bool = False,
) -> list[int]:
    """Weighted RRF (or, `linear`, weighted sum of cosine and max-scaled BM25) of the two
    top-`fetch` lists, with at most `per_source` chunks per article before the others."""
    fused: dict[int, float] = {}
    if linear:
        top = max(float(lexical.max()), 1e-9)
        pool = {int(i) for i in np.argsort(-dense)[:fetch]}
        pool |= {int(i) for i in np.argsort(-lexical)[:fetch]}
        fused = {
            row: dense_weight * float(dense[row]) + (1 - dense_weight) * float(lexical[row]) / top
            for row in pool
        }
        ranked = sorted(fused, key=lambda row: -fused[row])
        return one_per_source(ranked, sources, per_source)[:depth]
    for rank, row in enumerate(np.argsort(-dense)[:fetch]):
        fused[int(row)] = fused.get(int(row), 0.0) + dense_weight / (rrf_k + rank + 1)
    lex_top = [int(i) for i in np.argsort(-lexical)[:fetch] if lexical[i] > 0]
    for rank, row in enumerate(lex_top):
        fused[row] = fused.get(row, 0.0) + (1 - dense_weight) / (rrf_k + rank + 1)
    ranked = sorted(fused, key=lambda row: -fused[row])
    return one_per_source(ranked, sources, per_source)[:depth]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rag.evaluation.fusion_study")
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args(argv)
    questions = [q for q in load_questions(args.questions) if q.answerable]
    pipeline = open_pipeline(args.index_dir, args.docs)
    snapshot = pipeline.store.snapshot()
    got = get_all(snapshot.chunks, ["embeddings", "metadatas"])
    table = snapshot.search
    vectors = np.zeros((table.size, len(got["embeddings"][0])), dtype=np.float32)
    for chunk_id, vector in zip(got["ids"], got["embeddings"], strict=True):
        vectors[table.row(chunk_id)] = vector
    sources = [table.source(row) for row in range(table.size)]
    lexical = lexical_index(snapshot)
    variants: dict[str, dict[str, Any]] = {
        "dense": {"dense_weight": 1.0},
        "bm25": {"dense_weight": 0.0},
    }
    for weight in (0.3, 0.4, 0.5, 0.6, 0.7):
        for per_source in (0, 1, 2):
            variants[f"rrf w={weight} per_source={per_source}"] = {
                "dense_weight": weight,
                "per_source": per_source,
            }
    for weight in (0.3, 0.4, 0.5, 0.6, 0.7):
        for per_source in (0, 1, 2):
            variants[f"linear w={weight} per_source={per_source}"] = {
                "dense_weight": weight,
                "per_source": per_source,
                "linear": True,
            }
    for per_source in (1, 2):
        variants[f"dense per_source={per_source}"] = {"dense_weight": 1.0, "per_source": per_source}
        variants[f"bm25 per_source={per_source}"] = {"dense_weight": 0.0, "per_source": per_source}
    hits = {name: 0 for name in variants}
    embed = pipeline.store.embeddings
    for question in questions:
        query = np.asarray(embed.embed_query(unify_typography(question.question)), np.float32)
        dense = vectors @ query
        lex = lexical.scores(tokenize(question.question))
        gold = set(question.reference_sources)
        for name, variant in variants.items():
            ranked = fused_ranking(
                dense,
                lex,
                sources,
                fetch=40,
                dense_weight=variant["dense_weight"],
                rrf_k=60,
                per_source=variant.get("per_source", 0),
                depth=args.k,
                linear=variant.get("linear", False),
            )
            hits[name] += any(sources[row] in gold for row in ranked)
    result = {name: round(count / len(questions), 4) for name, count in hits.items()}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
