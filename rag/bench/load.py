"""Concurrent clients against POST /api/ask: latencies, throughput and errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rag.stats import percentile


@dataclass
class LoadResult:
    """What N clients saw: one latency per successful answer, one message per error."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def figures(self, prefix: str = "load") -> dict[str, float | int]:
        """answers/s, p50/p95/p99 and the error count, keyed for `rag bench --json`."""
        done = self.latencies_ms
        return {
            f"{prefix}_answers_per_s": round(len(done) / self.elapsed_s, 2)
            if self.elapsed_s
            else 0,
            f"{prefix}_ms_p50": round(percentile(done, 50), 1),
            f"{prefix}_ms_p95": round(percentile(done, 95), 1),
            f"{prefix}_ms_p99": round(percentile(done, 99), 1),
            f"{prefix}_errors": len(self.errors),
            f"{prefix}_requests": len(done) + len(self.errors),
        }


def run_load(
    url: str | list[str],
    questions: list[str],
    clients: int,
    duration_s: float | None = None,
    per_client: int | None = None,
    check: Callable[[dict[str, Any]], str | None] | None = None,
) -> LoadResult:
    """`clients` threads asking in turn until `duration_s` passes or each asked `per_client`.

    With several URLs (replicas) client n talks to URL n mod len: a round-robin balancer.
    A non-200 status, a transport error or a `check` message counts as an error.
    """
    import httpx

    if (duration_s is None) == (per_client is None):
        raise ValueError("give exactly one of duration_s and per_client")
    urls = [url] if isinstance(url, str) else url
    result = LoadResult()
    lock = threading.Lock()
    deadline = time.monotonic() + (duration_s or 0)

    def client(number: int) -> None:
        with httpx.Client(base_url=urls[number % len(urls)], timeout=60) as http:
            asked = 0
            while (per_client is None and time.monotonic() < deadline) or (
                per_client is not None and asked < per_client
            ):
                question = questions[(number * 7 + asked) % len(questions)]
                asked += 1
                started = time.perf_counter()
                try:
                    response = http.post("/api/ask", json={"question": question})
                    problem = (
                        None if response.status_code == 200 else f"HTTP {response.status_code}"
                    )
                    if problem is None and check is not None:
                        problem = check(response.json())
                except httpx.HTTPError as err:
                    problem = f"{type(err).__name__}: {err}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if problem is None:
                        result.latencies_ms.append(elapsed)
                    else:
                        result.errors.append(f"{question!r}: {problem}")

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed_s = time.perf_counter() - started
    return result
