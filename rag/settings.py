"""One typed Settings object, read once from RAG_* environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGED_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Every knob of the pipeline; CLI flags override these."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    docs_dir: Path = Field(Path("seeds"), description="Folder of documents to index.")
    index_dir: Path = Field(Path(".rag-index"), description="Where the Chroma index lives.")
    top_k: int = Field(5, ge=1, le=50, description="Chunks retrieved per question.")
    embedding_model: str = Field(
        PACKAGED_MODEL,
        description="'all-MiniLM-L6-v2' (the packaged, checksummed model) or a local "
        "sentence-transformers model folder.",
    )
    chunk_chars: int = Field(700, ge=100, description="Target maximum characters per chunk.")
    max_question_chars: int = Field(2000, ge=10, description="Longest question accepted.")
    max_file_mb: float = Field(20.0, gt=0, description="Larger files are skipped at ingest.")
    refusal_threshold: float = Field(
        0.42, description="Evidence score below which the answer is a refusal (calibrated)."
    )
    max_answer_sentences: int = Field(3, ge=1, le=10, description="Longest extractive answer.")
    collection: str = Field("documents", description="Chroma collection name prefix.")
