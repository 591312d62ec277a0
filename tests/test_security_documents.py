"""The operator's document routes: GET/POST /api/documents, DELETE /api/documents/{name}."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag.app import Pipeline
from rag.web.server import create_app
from tests.conftest import MakePipeline
from tests.test_security_requests import assert_api_error

pytestmark = pytest.mark.slow  # an index built and re-ingested per test

TOKEN = "operator-secret"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
SEED = "us-officials-withdraw-from-london-ceasefire-talks.txt"
MILL = b"Mill News\nThe old mill in Tarrin burned down on Sunday night.\n"


@pytest.fixture
def admin(make_pipeline: MakePipeline) -> Iterator[tuple[Pipeline, TestClient]]:
    pipeline = make_pipeline(admin_token=TOKEN, max_file_mb=0.1)
    pipeline.ingest()
    with TestClient(create_app(pipeline, examples=[]), raise_server_exceptions=False) as client:
        yield pipeline, client


def upload(client: TestClient, name: str, data: bytes, **headers: str) -> Any:
    return client.post(
        "/api/documents", files={"file": (name, data, "text/plain")}, headers={**ADMIN, **headers}
    )


def raw_upload(client: TestClient, name: bytes, data: bytes) -> Any:
    """A multipart body byte for byte (httpx would percent-encode a NUL in the file name)."""
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="'
        + name
        + b'"\r\nContent-Type: text/plain\r\n\r\n'
        + data
        + b"\r\n--XyZ--\r\n"
    )
    headers = {**ADMIN, "content-type": "multipart/form-data; boundary=XyZ"}
    return client.post("/api/documents", content=body, headers=headers)


def test_list_upload_ask_delete(admin: tuple[Pipeline, TestClient]) -> None:
    pipeline, client = admin
    listed = client.get("/api/documents", headers=ADMIN).json()["documents"]
    assert [d["name"] for d in listed] == [SEED] and listed[0]["chunks"] > 1
    assert listed[0]["ingested_at"]
    response = upload(client, "mill.txt", MILL)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "mill.txt" and response.json()["chunks"] == 1
    assert (Path(pipeline.settings.docs_dir) / "mill.txt").read_bytes() == MILL
    names = {d["name"] for d in client.get("/api/documents", headers=ADMIN).json()["documents"]}
    assert names == {SEED, "mill.txt"}
    answer = client.post("/api/ask", json={"question": "When did the old mill in Tarrin burn?"})
    assert "Sunday" in answer.json()["answer"]
    assert answer.json()["citations"][0]["source"] == "mill.txt"
    assert client.delete("/api/documents/mill.txt", headers=ADMIN).status_code == 200
    assert not (Path(pipeline.settings.docs_dir) / "mill.txt").exists()
    assert "mill.txt" not in pipeline.store.require_snapshot().documents
    assert_api_error(client.delete("/api/documents/mill.txt", headers=ADMIN), 404, "not_found")


def test_every_route_needs_the_admin_token(admin: tuple[Pipeline, TestClient]) -> None:
    _, client = admin
    for headers in ({}, {"authorization": "Bearer wrong"}):
        assert_api_error(client.get("/api/documents", headers=headers), 401, "unauthorized")
        files = {"file": ("mill.txt", MILL, "text/plain")}
        response = client.post("/api/documents", files=files, headers=headers)
        assert_api_error(response, 401, "unauthorized")
        response = client.delete(f"/api/documents/{SEED}", headers=headers)
        assert_api_error(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "name",
    [
        "../escape.txt",
        "../../etc/cron.d/x.txt",
        "/etc/passwd.txt",
        "sub/../../x.txt",
        "nul\x00.txt",
        ".hidden.txt",
        "",
        "sub/x.txt",
    ],
)
def test_names_that_leave_the_folder_are_refused(
    admin: tuple[Pipeline, TestClient], name: str
) -> None:
    pipeline, client = admin
    before = sorted(p.name for p in Path(pipeline.settings.docs_dir).parent.rglob("*"))
    response = raw_upload(client, name.encode(), MILL)
    assert response.status_code in {400, 422}, response.text
    assert sorted(p.name for p in Path(pipeline.settings.docs_dir).parent.rglob("*")) == before


def test_a_name_that_is_a_link_is_refused(admin: tuple[Pipeline, TestClient]) -> None:
    pipeline, client = admin
    docs = Path(pipeline.settings.docs_dir)
    target = docs.parent / "target.txt"
    target.write_bytes(b"untouched")
    (docs / "link.txt").symlink_to(target)
    assert_api_error(upload(client, "link.txt", MILL), 400, "bad_input", "link")
    assert target.read_bytes() == b"untouched"
    assert_api_error(client.delete("/api/documents/link.txt", headers=ADMIN), 400, "bad_input")
    assert (docs / "link.txt").is_symlink()


def test_file_types_and_sizes(admin: tuple[Pipeline, TestClient]) -> None:
    _, client = admin
    assert_api_error(upload(client, "tool.exe", b"MZ"), 415, "unsupported_media_type", ".txt")
    too_big = b"The harbour reopened. " * 5_000  # 110 kB, over max_file_mb = 0.1
    assert_api_error(upload(client, "big.txt", too_big), 413, "too_large")
    assert_api_error(upload(client, "binary.txt", os.urandom(4000)), 422, "bad_input")
    names = {d["name"] for d in client.get("/api/documents", headers=ADMIN).json()["documents"]}
    assert names == {SEED}


def test_an_upload_replaces_a_document_of_the_same_name(
    admin: tuple[Pipeline, TestClient],
) -> None:
    pipeline, client = admin
    assert upload(client, "mill.txt", MILL).status_code == 201
    changed = MILL.replace(b"Sunday", b"Monday")
    assert upload(client, "mill.txt", changed).status_code == 201
    text = pipeline.store.require_snapshot().document_text("mill.txt")
    assert "Monday" in text and "Sunday" not in text
