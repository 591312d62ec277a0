"""What the code takes from chromadb beyond its public API: fails loudly when an upgrade changes it.

If a test here fails after upgrading chromadb, update rag/generations/chroma_private.py (and the
public calls checked alongside it) before anything else.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import chromadb
import httpx
import numpy as np
import pytest

from rag.errors import StoreUnavailableError
from rag.generations.chroma import (
    close_client,
    http_client,
    is_connection_error,
    persistent_client,
    raw_collection,
)
from rag.generations.chroma_private import is_connect_failure
from tests.chroma_server import free_port

UPGRADE = "chromadb changed; update rag/generations/chroma_private.py"


def test_an_unreachable_server_is_a_valueerror_raised_while_handling_connecterror() -> None:
    from chromadb.config import Settings

    with pytest.raises(Exception) as caught:
        chromadb.HttpClient(
            host="127.0.0.1",
            port=free_port(),
            settings=Settings(anonymized_telemetry=False),
        )
    err = caught.value
    assert isinstance(err, ValueError), f"{UPGRADE}: got {type(err).__name__}: {err}"
    context = err.__cause__ or err.__context__
    assert isinstance(context, httpx.ConnectError), f"{UPGRADE}: context is {context!r}"
    assert is_connect_failure(err) and is_connection_error(err)


def test_an_unreachable_server_becomes_store_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailableError, match="not reachable") as caught:
        http_client(url)
    assert caught.value.__cause__ is not None  # the connection error is kept as the cause


def test_other_value_errors_are_not_connection_failures() -> None:
    assert not is_connect_failure(ValueError("Could not connect to a Chroma server"))
    try:
        try:
            raise KeyError("x")
        except KeyError:
            raise ValueError("something else") from None
    except ValueError as err:
        assert not is_connect_failure(err)


def test_closing_an_embedded_client_releases_its_folder(tmp_path: Path) -> None:
    """The public close() stops Chroma's system for the folder: it can be deleted and rebuilt."""
    folder = tmp_path / "chroma"
    client = persistent_client(folder)
    collection = raw_collection(client, "probe")
    collection.add(ids=["a"], embeddings=np.ones((1, 3), dtype=np.float32), documents=["a"])
    close_client(client)
    shutil.rmtree(folder)
    again = persistent_client(folder)
    try:
        assert [c.name for c in again.list_collections()] == []  # a fresh system, not the old one
        raw_collection(again, "probe").add(
            ids=["b"], embeddings=np.ones((1, 3), dtype=np.float32), documents=["b"]
        )
        assert raw_collection(again, "probe").count() == 1
    finally:
        close_client(again)
