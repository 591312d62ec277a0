"""/status: the index's state for a person (the same facts as /api/health, which stays JSON)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from rag.app import Pipeline

from .api import index_health
from .pages import page_response


def status_router(pipeline: Pipeline) -> APIRouter:
    """GET /status (always 200: the page reports a missing index instead of failing)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/status", response_class=HTMLResponse)
    def status() -> HTMLResponse:
        snapshot = pipeline.store.snapshot()
        return page_response(
            "status.html",
            health=index_health(pipeline),
            generation=snapshot.generation if snapshot is not None else None,
        )

    return router
