"""The one thing taken from chromadb beyond its public API, kept here alone.

chromadb has no exception type for "the server is not reachable" while a client connects: it
raises a bare ValueError while handling httpx.ConnectError (chromadb/api/client.py). We recognise
that error by its context, not by its message text. tests/test_chroma_private.py checks this
against a real closed port, so an upgrade that changes it fails loudly there.
"""

from __future__ import annotations


def is_connect_failure(err: BaseException) -> bool:
    """True for chromadb's ValueError standing for a failed connection to its server."""
    import httpx

    if not isinstance(err, ValueError):
        return False
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, httpx.TransportError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False
