"""Error hierarchy: library code raises these; the CLI and UI turn them into one clear line."""


class RagError(Exception):
    """Base class for errors the user can act on."""


class BadInputError(RagError, ValueError):
    """The user's input (question, file, option) cannot be used."""


class SettingError(BadInputError):
    """A setting (a RAG_* variable, or the flag over it) that cannot be used; exit code 2."""


class NoDocumentsError(RagError):
    """There is nothing to index or nothing indexed."""


class ModelError(RagError):
    """The embedding model is missing or does not match its checksum."""


class StoreUnavailableError(RagError):
    """The index (a Chroma server) cannot be reached right now."""


class EmbeddingServerError(ModelError):
    """The embeddings server (RAG_EMBEDDINGS_URL) failed, or answered something unusable."""
