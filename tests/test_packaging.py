"""A built wheel installs one top-level package, `rag`: nothing named `ui` or `eval` collides."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (built,) = out.glob("rag_news-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"rag"}
    # The front ends and the evaluation travel inside it, with their data files.
    for expected in (
        "rag/cli/__init__.py",
        "rag/web/server.py",
        "rag/web/static/chat.css",
        "rag/web/embed/widget.js",
        "rag/evaluation/runner.py",
        "rag/evaluation/seed_article.jsonl",
    ):
        assert expected in names


def test_the_installed_wheel_imports_from_its_own_site_packages(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    # Dependencies come from the project's environment; `rag` itself only from the wheel (the
    # editable install's path hook lives in a .pth file, which PYTHONPATH entries do not run).
    # Every site-packages on sys.path: a venv may reach its packages through another's .pth.
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    probe = (
        "import importlib.util, rag.web.server, rag.evaluation.runner, rag.cli;"
        "print(rag.web.server.__file__);"
        "print(importlib.util.find_spec('ui'), importlib.util.find_spec('eval'))"
    )
    done = subprocess.run(
        [str(python), "-c", probe],
        env={"PYTHONPATH": os.pathsep.join(site_packages), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    location, missing = done.stdout.splitlines()
    assert location.startswith(str(venv)) and location.endswith("rag/web/server.py")
    assert missing == "None None"
