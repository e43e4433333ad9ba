# hashdesk — the two set-up commands are `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HASHDESK_DB ?= $(CURDIR)/.hashdesk/demo.duckdb

.PHONY: demo test lint bench install dev clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24,<27"

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

dev: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"

demo: install
	$(BIN)/hashdesk demo --out $(CURDIR)/out

lint: dev
	$(BIN)/ruff check src tests benchmarks

test: dev lint
	$(BIN)/python -m pytest -q

bench: dev
	@command -v wrk >/dev/null || (apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null 2>&1)) || echo "wrk not installed: the web load run falls back to a Python load generator"
	$(BIN)/python -m pytest benchmarks -q --benchmark-enable --benchmark-only -p no:randomly -s

clean:
	rm -rf $(VENV) .hashdesk out .pytest_cache .benchmarks
