"""A chat model's output as a stream with an idle and a total timeout, cancelled when abandoned."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

_DONE = object()


class LLMTimeout(Exception):
    """The language model went quiet for longer than its timeout."""


def stream_with_timeout(
    llm: BaseChatModel,
    messages: list[Any],
    idle_s: float,
    total_s: float,
    config: RunnableConfig | None = None,
) -> Iterator[str]:
    """Model output pieces; raises LLMTimeout when it stalls (the model runs in a thread, so a
    slow model never blocks the caller beyond its timeout).

    Once the caller stops reading (a timeout, or it closed this iterator), the thread stops
    too and closes the model's stream: a local model then stops generating and frees itself
    for the next question; a remote model's connection is closed.
    """
    pieces: queue.Queue[Any] = queue.Queue()
    abandoned = threading.Event()

    def produce() -> None:
        chunks = llm.stream(messages, config=config)
        try:
            for chunk in chunks:
                if abandoned.is_set():
                    break
                pieces.put(str(chunk.content))
            pieces.put(_DONE)
        except Exception as err:  # handed to the consumer, which falls back
            pieces.put(err)
        finally:
            if isinstance(chunks, Generator):
                chunks.close()

    threading.Thread(target=produce, daemon=True).start()
    deadline = time.monotonic() + total_s
    try:
        while True:
            wait = min(idle_s, deadline - time.monotonic())
            if wait <= 0:
                raise LLMTimeout(f"no complete answer within {total_s:g} s")
            try:
                item = pieces.get(timeout=wait)
            except queue.Empty as err:
                raise LLMTimeout(f"no output for {wait:.3g} s") from err
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        abandoned.set()
