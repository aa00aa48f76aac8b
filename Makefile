# Two commands: `make demo` runs the main job on the embedded default (local Notion sandbox + deploy/demo/),
# `make test` runs ruff, mypy (strict) and pytest. Both create .venv and install what they need on their own.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_ENV := BACKLOG_SANDBOX_PATH=.backlog/demo-sandbox.sqlite3 BACKLOG_CONFIG=deploy/demo/backlog.toml NOTION_TOKEN=

.PHONY: demo test lint typecheck pytest sandbox bench clean lock

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

# Re-pin requirements.lock (runtime + dev, used by this Makefile) and deploy/requirements-runtime.lock (the image's,
# constrained to the same versions) from pyproject.toml. Existing pins are kept; `make lock UPGRADE=--upgrade` bumps.
LOCK_HEADER = \# Pinned dependencies for Python 3.11 (all platforms), generated from pyproject.toml by `make lock`.\n\# Do not edit by hand: change pyproject.toml, then run `make lock` (`make lock UPGRADE=--upgrade` to bump).
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --no-header --quiet $(UPGRADE)

lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(UV_COMPILE) --extra dev -o requirements.lock
	$(UV_COMPILE) -c requirements.lock -o deploy/requirements-runtime.lock
	@{ printf '$(LOCK_HEADER)\n# Runtime + dev extras: `make` installs this first, then the project itself in editable mode.\n'; \
		grep -v '^#' requirements.lock; } > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock
	@{ printf '$(LOCK_HEADER)\n# Runtime only, same versions as requirements.lock: the container image installs this.\n'; \
		grep -v '^#' deploy/requirements-runtime.lock; } > deploy/requirements-runtime.lock.tmp \
		&& mv deploy/requirements-runtime.lock.tmp deploy/requirements-runtime.lock

clean:
	rm -rf $(VENV) .backlog .pytest_cache .mypy_cache .ruff_cache
