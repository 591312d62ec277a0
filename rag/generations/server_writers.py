"""One ingest at a time against a Chroma server, and crashed ingests recognised as dead.

Writers on one host queue on a lock file; across hosts each running ingest keeps a row
(host, pid, heartbeat) in the `<prefix>-meta` collection, and a writer waits for every live
writer registered before it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock

from rag.errors import RagError
from rag.generations.chroma import guarded

log = logging.getLogger(__name__)

HEARTBEAT_S = 20.0
STALE_AFTER_S = 300.0  # a writer on another host that stopped beating this long ago is dead
WAIT_FOR_WRITER_S = 1800.0
UNIT = [[1.0]]  # the constant vector of rows that are not searched


def is_alive(record: dict[str, Any]) -> bool:
    """Whether the ingest that wrote this record may still be running."""
    if record.get("host") == socket.gethostname():
        try:
            os.kill(int(record.get("pid", 0)), 0)
        except ProcessLookupError:
            return False
        except (PermissionError, OverflowError, ValueError):
            return True
        return True
    return time.time() - float(record.get("heartbeat", 0)) < STALE_AFTER_S


class WriterRegistry:
    """The running ingests of one prefix on one server, as rows of its meta collection."""

    def __init__(self, url: str, prefix: str, meta: Callable[[], Any]) -> None:
        self.url = url
        self.prefix = prefix
        self.meta = meta  # the meta collection, looked up on demand

    @contextlib.contextmanager
    def hold(self) -> Iterator[str]:
        """Wait for earlier writers, then give this writer's generation name until it ends."""
        with self._local_lock():
            name = f"g{time.time_ns()}"
            guarded(self.url, lambda: self._register(name))
            try:
                yield name
            finally:
                with contextlib.suppress(Exception):
                    self.meta().delete(ids=[f"writer:{name}"])

    def records(self) -> list[dict[str, Any]]:
        """Every registered writer (live or dead)."""
        rows = self.meta().get(where={"kind": "writer"}, include=["metadatas"])
        return [dict(m) for m in rows["metadatas"] if m]

    def live_generations(self) -> set[str]:
        """Generations some live writer is still building."""
        return {r["generation"] for r in self.records() if is_alive(r)}

    def forget_dead(self) -> None:
        """Remove the rows of writers that crashed."""
        dead = [r["generation"] for r in self.records() if not is_alive(r)]
        if dead:
            self.meta().delete(ids=[f"writer:{g}" for g in dead])

    def heartbeat(self, name: str) -> Callable[[], None]:
        """A callable that refreshes this writer's row (at most every HEARTBEAT_S)."""
        last = [time.monotonic()]

        def beat() -> None:
            if time.monotonic() - last[0] >= HEARTBEAT_S:
                last[0] = time.monotonic()
                record = self._record(name)
                self.meta().upsert(ids=[f"writer:{name}"], embeddings=UNIT, metadatas=[record])

        return beat

    @contextlib.contextmanager
    def _local_lock(self) -> Iterator[None]:
        """Writers on this host queue on a lock file (writers elsewhere: see `_register`)."""
        key = hashlib.sha256(f"{self.url}|{self.prefix}".encode()).hexdigest()[:16]
        with FileLock(Path(tempfile.gettempdir()) / f"rag-news-{key}.lock"):
            yield

    def _record(self, name: str) -> dict[str, Any]:
        now = time.time()
        return {
            "kind": "writer",
            "generation": name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": now,
            "heartbeat": now,
        }

    def _register(self, name: str) -> None:
        """Announce this writer, then wait while an earlier-registered live writer runs."""
        meta = self.meta()
        meta.upsert(ids=[f"writer:{name}"], embeddings=UNIT, metadatas=[self._record(name)])
        deadline = time.monotonic() + WAIT_FOR_WRITER_S
        while True:
            others = [
                r
                for r in self.records()
                if r["generation"] != name and is_alive(r) and r["generation"] < name
            ]
            if not others:
                return
            if time.monotonic() > deadline:
                meta.delete(ids=[f"writer:{name}"])
                first = others[0]
                raise RagError(
                    f"another ingest is still running (pid {first.get('pid')} on "
                    f"{first.get('host')}); try again when it has finished"
                )
            log.info("waiting for the ingest of generation %s to finish", others[0]["generation"])
            time.sleep(0.5)
