# Two commands: `make demo` runs the main job on the embedded default (local Notion sandbox + deploy/demo/),
# `make test` runs ruff, mypy (strict) and pytest. Both create .venv and install what they need on their own.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_ENV := BACKLOG_SANDBOX_PATH=.backlog/demo-sandbox.sqlite3 BACKLOG_CONFIG=deploy/demo/backlog.toml NOTION_TOKEN=

.PHONY: demo test lint typecheck pytest sandbox bench clean

$(STAMP): pyproject.toml $(wildcard requirements.lock)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if [ -f requirements.lock ]; then \
		$(BIN)/python -m pip install --quiet -r requirements.lock; \
	fi
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@mkdir -p .backlog
	$(DEMO_ENV) $(BIN)/backlog demo

lint: $(STAMP)
	$(BIN)/ruff check service connectors scoring tests bench
	$(BIN)/ruff format --check service connectors scoring tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

sandbox: $(STAMP)
	$(DEMO_ENV) $(BIN)/backlog sandbox

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .backlog .pytest_cache .mypy_cache .ruff_cache
