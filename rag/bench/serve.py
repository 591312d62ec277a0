"""Start `rag serve` as a child process and measure it: time to first HTTP 200, peak RSS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServeProcess:
    """A running `rag serve` and how long it took to answer."""

    process: subprocess.Popen[bytes]
    url: str
    first_200_s: float

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far (VmHWM)."""
        return self._status_mb("VmHWM:")

    def rss_mb(self) -> float:
        """The process's resident memory now (VmRSS)."""
        return self._status_mb("VmRSS:")

    def _status_mb(self, key: str) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8")
        for line in status.splitlines():
            if line.startswith(key):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")

    def stop(self) -> None:
        stop_process(self.process, timeout_s=20)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Terminate a child process, killing it if it has not exited within `timeout_s`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_serve(
    env: dict[str, str], timeout_s: float = 180.0, log: Path | None = None
) -> ServeProcess:
    """`rag serve` on a free loopback port; returns once GET /api/health answers 200."""
    port = free_port()
    output = log.open("ab") if log else subprocess.DEVNULL
    started = time.perf_counter()
    # The load test is 20 clients on one address, far over the per-client limit of a public
    # server: the measured server runs without one (stated in the README).
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "RAG_RATE_LIMIT": "off", **env},
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise RagError(f"rag serve exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
                if response.status == 200:
                    return ServeProcess(process, url, round(time.perf_counter() - started, 2))
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RagError(f"rag serve did not answer within {timeout_s:.0f} s")
