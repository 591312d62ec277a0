"""The README's `rag ask` examples are real output: each `$ rag ask` in a console block is run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from tests.conftest import ROOT, SEEDS


def readme_examples() -> list[tuple[list[str], str]]:
    """(argv after `rag`, the output the README shows) for every `$ rag ask` in a console block."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = []
    for block in re.findall(r"```console\n(.*?)```", readme, flags=re.S):
        for command, output in re.findall(r"^\$ rag (ask .*)\n((?:(?!\$ ).*\n)*)", block, re.M):
            examples.append((shlex.split(command), output.strip("\n")))
    return examples


def test_the_readme_shows_ask_examples() -> None:
    assert len(readme_examples()) >= 2


@pytest.mark.parametrize("argv, shown", readme_examples(), ids=lambda v: str(v)[:40])
def test_readme_example_output_is_what_rag_prints(
    argv: list[str], shown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_DOCS_DIR", str(SEEDS))
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip("\n") == shown


def test_every_test_the_security_table_names_exists() -> None:
    """The README's probe table names the test that checks each row; each must exist."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Security", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(?:tests/\w+\.py::)?(test_\w+)`", table))
    assert len(named) >= 15
    defined = {
        name
        for path in (ROOT / "tests").glob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)
    }
    assert named <= defined, sorted(named - defined)
