"""One typed Settings object, read once from RAG_* environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PACKAGED_MODEL = "all-MiniLM-L6-v2"


def _comma_separated(value: object) -> object:
    """Let list settings come from the environment as "a,b,c"."""
    if isinstance(value, str):
        return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]
    return value


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
        description="Evidence score below which the answer is a refusal; unset: the answer "
        "scorer's own (the learned scorer's calibrated threshold, 0.37 for the rules).",
    )
    answer_scorer: Literal["learned", "rules"] = Field(
        "rules",
        description="'learned': logistic regression over sentence features, reading 20 chunks "
        "and the top articles (rag/answer/scorer_weights.json; not yet the default: it regresses "
        "the seed set); 'rules': hand-set weights.",
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
    allowed_origins: Annotated[list[str], NoDecode, BeforeValidator(_comma_separated)] = Field(
        default_factory=list,
        description="Web origins (comma-separated, e.g. 'https://news.example') allowed to call "
        "the HTTP API and embed the widget from another site; empty allows none.",
    )
    concurrency: int = Field(
        4, ge=1, le=64, description="Chat requests the server answers at the same time."
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
    late_chunking: bool = Field(
        False,
        description="Pool each sentence's vector from its chunk's model pass (late chunking) "
        "instead of embedding sentences on their own; a local backend only.",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024, description="Texts per embedding batch.")
    cache_dir: Path | None = Field(
        None, description="Where the int8 export is kept (default ~/.cache/rag-news)."
    )
