"""`rag bench`: the product measured on this machine, in one process run, never in tests.

Entry point: `run_bench(settings, BenchOptions(...), progress)` returns every figure as one flat
dict. The pieces: `timing` (medians, percentiles, in-process and HTTP latency), `corpus` (the
synthetic news corpus), `serve` (a `rag serve` child process), `load` (concurrent clients),
`server_mode` (replicas sharing a Chroma server), `llm` (a chat model's speed).
"""

from rag.bench.options import BenchOptions
from rag.bench.run import run_bench

__all__ = ["BenchOptions", "run_bench"]
