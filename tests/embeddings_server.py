"""A real OpenAI-compatible `/v1/embeddings` server computing the packaged MiniLM's vectors.

For tests and measurements only (real deployments use Text Embeddings Inference, vLLM, Ollama or
llama.cpp): sentence-transformers runs the packaged model on every request over real HTTP on a
loopback port, so `RAG_EMBEDDINGS_URL` is exercised end to end with real vectors. `fail_with`
makes it answer an HTTP error and `dimensions` cuts its vectors short, to test what the client
says then. Run it by hand with `python -m tests.embeddings_server --port 8081`.
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

import numpy as np

from tests.openai_replay import LoopbackServer


class EmbeddingsServer(LoopbackServer):
    """Serve the packaged all-MiniLM-L6-v2 at http://127.0.0.1:<port>/v1/embeddings."""

    def __init__(self, port: int = 0, model_name: str = "all-MiniLM-L6-v2") -> None:
        from sentence_transformers import SentenceTransformer

        from rag.embeddings import force_offline, resolve_model_path

        force_offline()
        self.model = SentenceTransformer(
            str(resolve_model_path("all-MiniLM-L6-v2")), device="cpu", local_files_only=True
        )
        self.model_name = model_name
        self.fail_with: tuple[int, str] | None = None  # (HTTP status, message) to answer instead
        self.dimensions: int | None = None  # cut vectors to this many numbers
        self.requests = 0
        self.texts = 0
        self.authorization: str | None = None  # the last request's Authorization header
        self._lock = threading.Lock()
        super().__init__(self._handler(), port)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for one request, in the OpenAI embeddings format."""
        if self.fail_with:
            status, message = self.fail_with
            return status, {"error": {"message": message, "type": "server_error"}}
        if body.get("model") != self.model_name:
            return 404, {"error": {"message": f"model {body.get('model')!r} not found"}}
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return 400, {"error": {"message": "input must be a string or a list of strings"}}
        with self._lock:  # one model, one batch at a time
            vectors = self.model.encode(texts, batch_size=32, normalize_embeddings=True)
            self.requests += 1
            self.texts += len(texts)
        if self.dimensions:
            vectors = vectors[:, : self.dimensions]
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode()
                if as_base64
                else [float(x) for x in v],
            }
            for i, v in enumerate(vectors)
        ]
        tokens = sum(len(t.split()) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return 200, {"object": "list", "data": data, "model": self.model_name, "usage": usage}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                server.authorization = self.headers.get("Authorization")
                if not self.path.endswith("/embeddings"):
                    status, payload = 404, {"error": {"message": f"no route {self.path}"}}
                else:
                    try:
                        status, payload = server.answer(json.loads(raw or b"{}"))
                    except json.JSONDecodeError:
                        status, payload = 400, {"error": {"message": "body is not JSON"}}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    port = parser.parse_args().port
    with EmbeddingsServer(port) as server:
        print(f"serving all-MiniLM-L6-v2 at {server.base_url}/embeddings", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
