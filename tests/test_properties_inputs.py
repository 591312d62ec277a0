"""Property tests: any bytes given to the loaders or the question-set reader give a document,
a skip with its reason, or a clear error, never another exception."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.evaluation.dataset import QuestionSetError, load_questions
from rag.ingest.loaders import SUPPORTED_SUFFIXES, SkipFile, load_document

FAST = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# bytes that look a little like each format, so the parsers get past their first check
PREFIXES = [b"", b"%PDF-1.7\n", b"<html><body><p>", b"# Title\n\n", b"\xef\xbb\xbf", b"{", b"id,"]
contents = st.tuples(st.sampled_from(PREFIXES), st.binary(max_size=2000)).map(lambda t: t[0] + t[1])
texts = st.text(
    alphabet=st.characters(codec="utf-8"), max_size=400
)  # valid UTF-8 text, any characters


def written(suffix: str, data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
@FAST
@given(data=contents)
@example(data=b"\x00" * 100)
@example(data=b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << >>")
@example(data="<p>" * 20_000)  # deep markup
def test_any_bytes_load_or_skip_with_a_reason(suffix: str, data: bytes | str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    try:
        parsed = load_document(written(suffix, raw), max_bytes=1_000_000)
    except SkipFile as err:
        assert str(err)
        return
    assert parsed.text and parsed.blocks
    for block in parsed.blocks:  # blocks point inside the text
        assert 0 <= block.start <= block.end <= len(parsed.text)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
@FAST
@given(data=contents)
@example(data=b"[" * 100_000)  # nested past the recursion limit
@example(data=b'{"question": "' + b"[" * 50_000 + b'"}\n')
@example(data=b"question\n" + b'"' + b"x" * 200_000 + b'"\n')  # over csv's field limit
@example(data=b'question,history\nWho?,"' + b"[" * 5_000 + b'"\n')
def test_any_bytes_read_as_questions_or_a_clear_error(suffix: str, data: bytes) -> None:
    try:
        questions = load_questions(written(suffix, data))
    except QuestionSetError as err:
        assert str(err) and "\n" not in str(err).strip()
        return
    assert all(q.question.strip() for q in questions)


@FAST
@given(text=texts)
def test_any_text_as_a_jsonl_line_reads_or_fails_clearly(text: str) -> None:
    import json

    for line in (text, json.dumps({"question": text}), json.dumps({"question": "Q", "id": text})):
        with contextlib.suppress(QuestionSetError):
            load_questions(written(".jsonl", line.encode()))
