"""The operator's document routes: list, upload (then ingest, as `rag ingest` does), delete.

Mounted only when RAG_ADMIN_TOKEN is set; AccessMiddleware checks the token before any body is
read. A name must stay a plain file name inside the documents folder: no folders, no `..`, no
absolute path, no NUL, no hidden file, and never a symbolic link.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, UploadFile
from pydantic import BaseModel, Field

from rag.app import Pipeline
from rag.ingest.files import from_elsewhere
from rag.ingest.loaders import SUPPORTED_SUFFIXES, SkipFile, load_document

from .api import ErrorKind, ErrorResponse, error_response

log = logging.getLogger(__name__)

COPY_CHUNK = 1 << 20


class DocumentInfo(BaseModel):
    """One indexed document."""

    name: str = Field(description="Its file name in the documents folder (the citations' source).")
    title: str
    chunks: int
    chars: int
    ingested_at: str | None = Field(description="When this version was indexed (UTC, ISO 8601).")


class DocumentList(BaseModel):
    documents: list[DocumentInfo]


class Removed(BaseModel):
    name: str
    removed: bool


class BadName(ValueError):
    """A document name that may not be used; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, kind: ErrorKind = "bad_input") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def checked_name(name: str | None, nested: bool = False) -> str:
    """`name` if it is a safe document name; `nested` allows sub/folder/names (for deletion)."""
    if not name or len(name) > 255:  # input of the wrong size, as an empty question: 422
        raise BadName("Give a file name of 1 to 255 characters.", 422)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name) or "\\" in name:
        raise BadName("The file name holds control characters or a backslash.")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (not nested and len(parts) != 1):
        raise BadName("Give a plain file name, without folders.")
    if any(part in {".", ".."} or part.startswith(".") for part in parts):
        raise BadName("The file name may not be hidden or contain '..'.")
    if PurePosixPath(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise BadName(
            "Only .txt, .md, .html and .pdf documents are accepted.", 415, "unsupported_media_type"
        )
    return name


def inside(root: Path, name: str) -> Path:
    """root/name, refusing a name whose path passes through (or is) a symbolic link."""
    path = root
    for part in PurePosixPath(name).parts:
        path = path / part
        if path.is_symlink():
            raise BadName(f"“{name}” is a symbolic link: it is not managed here.")
    if not path.resolve().is_relative_to(root.resolve()):
        raise BadName("The name leaves the documents folder.")
    return path


def document_info(pipeline: Pipeline, name: str) -> DocumentInfo | None:
    manifest = pipeline.store.current_manifest() or {"documents": {}}
    entry = manifest["documents"].get(name)
    if entry is None:
        return None
    return DocumentInfo(
        name=name,
        title=str(entry.get("title", "")),
        chunks=int(entry.get("chunks", 0)),
        chars=int(entry.get("chars", 0)),
        ingested_at=entry.get("ingested_at"),
    )


def added_elsewhere(pipeline: Pipeline, root: Path, name: str) -> str | None:
    """Why `name` is not the documents folder's to take or delete: a document added by
    `rag ingest PATH` from outside the folder holds it (None if not)."""
    manifest = pipeline.store.current_manifest() or {"documents": {}}
    entry = manifest["documents"].get(name)
    where = None if entry is None else from_elsewhere(entry, root.resolve())
    if where is None:
        return None
    return f"“{name}” is indexed from {where}, added by `rag ingest PATH` from outside the folder"


def documents_router(pipeline: Pipeline) -> APIRouter:
    """GET/POST /api/documents and DELETE /api/documents/{name} over one pipeline."""
    router = APIRouter(prefix="/api/documents", tags=["documents (operator)"])
    root = Path(pipeline.settings.docs_dir)
    max_bytes = int(pipeline.settings.max_file_mb * 1_000_000)
    errors: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorResponse, "description": text}
        for status, text in {
            400: "A name that leaves the folder, or a link; a body that is not multipart data.",
            401: "No or a wrong operator token.",
            404: "No such document.",
            409: "The name is held by a document added by `rag ingest PATH` from elsewhere.",
            413: "Larger than RAG_MAX_FILE_MB.",
            415: "Not .txt, .md, .html or .pdf.",
            422: "An empty or over-long name; a file that cannot be indexed (binary, empty).",
        }.items()
    }
    # One change at a time to the folder; ingest itself also takes turns with other writers.
    folder_lock = threading.Lock()

    @router.get("", response_model=DocumentList, responses=errors, summary="List documents")
    def list_documents() -> DocumentList:
        """Every indexed document with its chunk count and when it was indexed."""
        manifest = pipeline.store.current_manifest() or {"documents": {}}
        infos = [document_info(pipeline, name) for name in sorted(manifest["documents"])]
        return DocumentList(documents=[i for i in infos if i is not None])

    @router.post(
        "",
        status_code=201,
        response_model=DocumentInfo,
        responses=errors,
        summary="Upload a document and index it",
    )
    def upload_document(file: UploadFile) -> Any:
        """Save the file into the documents folder, then ingest incrementally (as `rag ingest`)."""
        try:
            name = checked_name(file.filename)
            target = inside(root, name)
        except BadName as err:
            return error_response(err.status, err.kind, str(err))
        if taken := added_elsewhere(pipeline, root, name):
            # the folder's file would be skipped at every ingest, while that document answers
            return error_response(
                409,
                "conflict",
                f"{taken}: rename the file, or first remove that document (`rag ingest "
                f"--remove {name}`).",
            )
        with tempfile.TemporaryDirectory(dir=root, prefix=".upload-") as staging:
            staged = Path(staging) / name  # the real name: titles fall back to it
            size = 0
            with staged.open("wb") as out:
                while chunk := file.file.read(COPY_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        return error_response(
                            413, "too_large", f"The file is larger than {max_bytes:,} bytes."
                        )
                    out.write(chunk)
            try:
                load_document(staged, max_bytes)  # refuse what ingest would skip, before it lands
            except SkipFile as err:
                return error_response(422, "bad_input", f"“{name}” cannot be indexed: {err}.")
            with folder_lock:
                try:
                    target = inside(root, name)  # again: the folder may have changed meanwhile
                except BadName as err:
                    return error_response(err.status, err.kind, str(err))
                staged.replace(target)
        pipeline.ingest()
        info = document_info(pipeline, name)
        if info is None:  # deleted by another request in the meantime
            return error_response(404, "not_found", f"“{name}” was removed meanwhile.")
        return info

    @router.delete(
        "/{name:path}", response_model=Removed, responses=errors, summary="Remove a document"
    )
    def delete_document(name: str) -> Any:
        """Delete the file from the documents folder and from the index (a document added by
        `rag ingest PATH` from elsewhere is not the folder's: 409)."""
        try:
            path = inside(root, checked_name(name, nested=True))
        except BadName as err:
            return error_response(err.status, err.kind, str(err))
        if taken := added_elsewhere(pipeline, root, name):
            message = f"{taken}: remove it with `rag ingest --remove {name}`."
            return error_response(409, "conflict", message)
        with folder_lock:
            if not path.is_file():
                return error_response(404, "not_found", f"There is no document called “{name}”.")
            path.unlink()
        pipeline.ingest()
        return Removed(name=name, removed=True)

    return router
