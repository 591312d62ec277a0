"""Chroma clients and collections: embedded or server, always with explicit vectors."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np

from rag.errors import BadInputError, StoreUnavailableError
from rag.generations.chroma_private import is_connect_failure

log = logging.getLogger(__name__)

PAGE = 5000  # rows per get()/add(): under Chroma's max batch (5,461) and keeps HTTP bodies small
COSINE = {"hnsw:space": "cosine"}
T = TypeVar("T")


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=True)


def persistent_client(path: Path) -> Any:
    """An embedded Chroma over a folder."""
    import chromadb

    return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


def parse_url(url: str) -> tuple[str, int, bool]:
    """(host, port, ssl) of an http(s)://host:port Chroma server address."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise BadInputError(f"RAG_CHROMA_URL must look like http://host:port, not {url!r}")
    ssl = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if ssl else 8000), ssl


def http_client(url: str) -> Any:
    """A client of the Chroma server at `url`; StoreUnavailableError when it does not answer."""
    import chromadb

    host, port, ssl = parse_url(url)
    with unavailable_as_error(url):
        return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=_chroma_settings())


def is_connection_error(err: BaseException) -> bool:
    """True for the errors a stopped or unreachable Chroma server causes."""
    import httpx

    if isinstance(err, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    return is_connect_failure(err)


@contextlib.contextmanager
def unavailable_as_error(url: str) -> Iterator[None]:
    """Turn connection failures into one clear StoreUnavailableError."""
    try:
        yield
    except Exception as err:
        if is_connection_error(err):
            raise StoreUnavailableError(
                f"the index server (Chroma at {url}) is not reachable; "
                "answers resume when it is back"
            ) from err
        raise


def guarded(url: str | None, call: Callable[[], T]) -> T:
    """Run `call`, reporting an unreachable server as StoreUnavailableError."""
    if url is None:
        return call()
    with unavailable_as_error(url):
        return call()


def close_client(client: Any) -> None:
    """Release an embedded client (the last one of its folder stops Chroma's system there), so
    the folder can be reused or deleted."""
    with contextlib.suppress(Exception):
        client.close()


def vector_store(client: Any, name: str, embeddings: Any) -> Any:
    """A langchain-chroma store that always embeds with our model (never Chroma's default)."""
    from langchain_chroma import Chroma

    return Chroma(
        client=client,
        collection_name=name,
        embedding_function=embeddings,
        collection_metadata=COSINE,
    )


def raw_collection(client: Any, name: str) -> Any:
    """A collection we only ever give vectors to (no embedding function attached)."""
    return client.get_or_create_collection(name, embedding_function=None, metadata=COSINE)


def get_all(collection: Any, include: list[str]) -> dict[str, list[Any]]:
    """Every row of a collection, fetched page by page."""
    result: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        page = collection.get(include=include, limit=PAGE, offset=offset)
        result["ids"].extend(page["ids"])
        for key in include:
            values = page.get(key)
            result[key].extend(list(values) if values is not None else [])
        if len(page["ids"]) < PAGE:
            return result
        offset += PAGE


def copy_collection(source: Any, target: Any) -> int:
    """Copy rows with their vectors (no re-embedding); returns how many."""
    rows = get_all(source, ["embeddings", "documents", "metadatas"])
    for start in range(0, len(rows["ids"]), PAGE):
        stop = start + PAGE
        target.add(
            ids=rows["ids"][start:stop],
            embeddings=np.asarray(rows["embeddings"][start:stop], dtype=np.float32),
            documents=rows["documents"][start:stop],
            metadatas=rows["metadatas"][start:stop],
        )
    return len(rows["ids"])
