"""Schemathesis against the app's own OpenAPI schema, in process: no 5xx, every response as
documented. Fixed seed (derandomize) and a bounded number of examples per operation."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import SEEDS

pytestmark = pytest.mark.slow  # ~1 minute: every operation, document uploads included

ADMIN = "fuzz-operator"


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from rag.app import build_pipeline
    from rag.settings import Settings
    from rag.web.server import create_app

    base = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(SEEDS, base / "docs")
    pipeline = build_pipeline(
        Settings(
            docs_dir=base / "docs", index_dir=base / "index", admin_token=ADMIN, max_file_mb=0.2
        )
    )
    pipeline.ingest()
    app = create_app(pipeline, examples=["Who is Marco Rubio?"])
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def fuzz(operation: Any, statuses: dict[str, list[int]]) -> None:
    """Bounded, seeded cases of one operation: no 5xx, responses as the schema says."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        derandomize=True,  # the same cases on every run
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def keeps_to_the_schema(case: Case) -> None:
        response = case.call_and_validate(
            headers={"authorization": f"Bearer {ADMIN}"},
            # the schema can't say "not blank" or "under RAG_MAX_QUESTION_CHARS": a 422 for
            # such a question is right, not a failure
            excluded_checks=[positive_data_acceptance],
        )
        statuses.setdefault(operation.label, []).append(response.status_code)

    keeps_to_the_schema()


def test_the_api_keeps_to_its_schema(api_schema: Any) -> None:
    # Each operation by hand: schemathesis' pytest plugin (from_fixture) trips on pytest 9.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    withdraw = "DELETE /api/feedback/{answer_id}"
    assert {op.label for op in operations} >= {"POST /api/ask", "POST /api/documents", withdraw}
    statuses: dict[str, list[int]] = {}
    for operation in operations:
        fuzz(operation, statuses)
    # every operation really ran, and the fuzzing reached past the input checks
    counts = {label: len(codes) for label, codes in statuses.items()}
    assert len(counts) == len(operations)
    with_input = ["POST /api/ask", "POST /api/ask/stream", "POST /api/documents"]
    assert all(counts[label] >= 10 for label in with_input), counts
    assert any(200 <= code < 300 for code in statuses["POST /api/ask"])
    assert set(statuses[withdraw]) == {404}, statuses[withdraw]  # no generated id was served
