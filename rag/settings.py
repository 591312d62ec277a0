"""One typed Settings object, read once from RAG_* environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# What goes through the embedding model at ingest (rag/ingest/embed_batches.py).
EmbedMode = Literal["chunks-and-sentences", "sentences", "chunks-late"]

PACKAGED_MODEL = "all-MiniLM-L6-v2"


def _rate_limit(value: str) -> str:
    """'off', '0' or '' switch rate limiting off; anything else must parse, e.g. '60/minute'."""
    value = value.strip()
    if value.lower() in RATE_LIMIT_OFF:
        return value
    from limits import parse

    try:
        parse(value)
    except ValueError as err:
        raise ValueError(f"{value!r} is not like '60/minute' or 'off'") from err
    return value


RATE_LIMIT_OFF = {"", "0", "off", "none"}


def _comma_separated(value: object) -> object:
    """Let list settings come from the environment as "a,b,c"."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _origins(value: object) -> object:
    """Origins as the browser sends them: no trailing slash."""
    value = _comma_separated(value)
    return [v.rstrip("/") for v in value] if isinstance(value, list) else value


class Settings(BaseSettings):
    """Every knob of the pipeline; CLI flags override these."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    docs_dir: Path = Field(Path("seeds"), description="Folder of documents to index.")
    index_dir: Path = Field(Path(".rag-index"), description="Where the Chroma index lives.")
    top_k: int = Field(5, ge=1, le=50, description="Chunks retrieved per question.")
    embedding_model: str = Field(
        PACKAGED_MODEL,
        description="'all-MiniLM-L6-v2' (the packaged, checksummed model) or a local "
        "sentence-transformers model folder; with embeddings_url, the model name the server "
        "is asked for.",
    )
    chunk_chars: int = Field(700, ge=100, description="Target maximum characters per chunk.")
    max_question_chars: int = Field(2000, ge=10, description="Longest question accepted.")
    max_file_mb: float = Field(20.0, gt=0, description="Larger files are skipped at ingest.")
    refusal_threshold: float | None = Field(
        None,
        description="Evidence score below which the answer is a refusal; unset: the refusal "
        "gate's own (the learned scorer's calibrated threshold; for the rules, one that rises "
        "with the log of the index's chunk count: 0.37 up to 15 chunks, one article, and 0.4757 "
        "from 18,350 chunks on).",
    )
    answer_scorer: Literal["learned", "rules"] = Field(
        "learned",
        description="What ranks the sentences: 'learned', a conditional logit over sentence "
        "features reading the top 10 chunks and the top article (rag/answer/scorer_weights.json); "
        "'rules': hand-set weights over the k chunks shown.",
    )
    refusal_gate: Literal["rules", "learned"] = Field(
        "rules",
        description="What decides to refuse: 'rules', the hand-set evidence score of the best "
        "sentence of the k chunks shown; 'learned', the learned scorer's calibrated probability "
        "that the archive answers (weaker on RealTime QA 2022 and the seed set, no better on "
        "2023). Without the learned scorer the rules decide.",
    )
    max_answer_sentences: int = Field(3, ge=1, le=10, description="Longest extractive answer.")
    collection: str = Field("documents", description="Chroma collection name prefix.")
    llm: str = Field(
        "extractive",
        description="Answerer: 'extractive' (no model), 'tiny-local' (SmolLM2-135M, offline), "
        "'hf:<model folder>', or a LangChain provider string such as 'openai:<model>'.",
    )
    llm_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible (or other provider's) server."
    )
    llm_api_key: SecretStr | None = Field(None, description="API key for the LLM provider.")
    llm_timeout_s: float = Field(
        30.0,
        gt=0,
        description="Seconds the model may stay silent (first token or between "
        "tokens) before the extractive answer is shown instead.",
    )
    llm_total_s: float = Field(120.0, gt=0, description="Longest a generated answer may take.")
    llm_max_tokens: int = Field(200, ge=16, le=4096, description="Longest generated answer.")
    allowed_origins: Annotated[list[str], NoDecode, BeforeValidator(_origins)] = Field(
        default_factory=list,
        description="Web origins (comma-separated, e.g. 'https://news.example') allowed to call "
        "the HTTP API and embed the widget from another site; empty allows none.",
    )
    max_body_kb: int = Field(
        64, ge=1, description="Largest request body in kB (413 above it; uploads: max_file_mb)."
    )
    max_history_turns: int = Field(
        20, ge=0, le=1000, description="Most earlier messages a question may carry."
    )
    max_history_chars: int = Field(
        4000, ge=1, description="Longest earlier message, in characters."
    )
    rate_limit: Annotated[str, AfterValidator(_rate_limit)] = Field(
        "60/minute",
        description="Requests per client on /api/*, the Gradio API and the widget "
        "('60/minute', '1000/hour'); 'off' or '0' switches limiting off.",
    )
    feedback_rate_limit: Annotated[str, AfterValidator(_rate_limit)] = Field(
        "30/minute",
        description="Posts per client to /api/feedback, a budget of its own beside rate_limit "
        "(which counts them too); stays on when rate_limit is off; 'off' or '0' switches it off.",
    )
    trusted_proxies: Annotated[list[str], NoDecode, BeforeValidator(_comma_separated)] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For "
        "names the client; empty: the peer address is the client.",
    )
    api_keys: Annotated[list[SecretStr], NoDecode, BeforeValidator(_comma_separated)] = Field(
        default_factory=list,
        description="Comma-separated keys; when set, /api/* and the Gradio API need "
        "'Authorization: Bearer <key>' (pages on allowed origins get a short-lived token).",
    )
    admin_token: SecretStr | None = Field(
        None, description="Enables /api/documents (list, upload, delete) for this bearer token."
    )
    token_secret: SecretStr | None = Field(
        None,
        description="Signs the pages' short-lived tokens; set the same value on every replica "
        "(unset: a random secret per process).",
    )
    token_ttl_s: int = Field(300, ge=30, le=3600, description="Lifetime of a page token.")
    public_url: str | None = Field(
        None,
        description="The address browsers reach the app at (https://host/prefix), shown in the "
        "embed snippets; unset: the address the server listens on.",
    )
    concurrency: int = Field(
        4, ge=1, le=64, description="Chat requests the server answers at the same time."
    )
    feedback_db: Path | None = Field(
        None,
        description="SQLite file of served answers and their feedback (share links, "
        "`rag feedback`); unset: feedback.sqlite3 in index_dir.",
    )
    feedback_max_answers: int = Field(
        100_000, ge=100, description="Most answers kept; the oldest unrated ones go first."
    )
    chroma_url: str | None = Field(
        None,
        description="A Chroma server (http://host:port) holding the index, shared by every "
        "replica; unset: an embedded index in index_dir.",
    )
    embedding_backend: Literal["int8", "fp32"] = Field(
        "int8",
        description="'int8': the model exported to ONNX and quantized (faster, made once into "
        "cache_dir); 'fp32': sentence-transformers on torch.",
    )
    embeddings_url: str | None = Field(
        None,
        description="An OpenAI-compatible embeddings server (http://host:port/v1: Text "
        "Embeddings Inference, vLLM, Ollama, llama.cpp) that embeds embedding_model instead "
        "of this machine; unset: embedded locally by embedding_backend.",
    )
    embeddings_api_key: SecretStr | None = Field(None, description="Key for embeddings_url.")
    embed: EmbedMode = Field(
        "chunks-and-sentences",
        description="What goes through the embedding model at ingest. 'chunks-and-sentences': "
        "every chunk and every sentence, each on its own; 'sentences': only the sentences, a "
        "chunk's vector being the length-weighted mean of its sentences' (about half the work, "
        "weaker retrieval on boilerplate-heavy text); 'chunks-late': only the chunks, a "
        "sentence's vector pooled from its chunk's pass (late chunking; a local backend only). "
        "Changing it re-embeds.",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024, description="Texts per embedding batch.")
    cache_dir: Path | None = Field(
        None,
        description="Where the int8 export is kept, and the search files a server-mode replica "
        "downloads (default ~/.cache/rag-news).",
    )
