# Everything runs from a project-local virtualenv that the targets create on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint types format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/prm demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Types and the layers' contracts (pyproject.toml: [tool.mypy], [tool.importlinter]).
types: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

test: lint types
	$(BIN)/pytest -q -n auto

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py --sizes S,M --backends sqlite,postgresql

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache prm-demo.db*
