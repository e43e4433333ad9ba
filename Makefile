# hashdesk — the two set-up commands are `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HASHDESK_DB ?= $(CURDIR)/.hashdesk/demo.duckdb

.PHONY: demo test lint bench install dev lock clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24,<27"

# requirements.lock pins every package to the versions CI runs; pyproject.toml keeps ranges.
install: $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e .

dev: $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e ".[dev]"

# Re-resolve requirements.lock from pyproject.toml's ranges (newest versions within them).
lock: $(BIN)/python
	$(BIN)/pip install --quiet "uv>=0.5,<1"
	{ echo "# Exact versions CI installs (make dev / make install: pip install -c requirements.lock ...)."; \
	  echo "# Linux x86_64, Python 3.11; \`make lock\` regenerates it from pyproject.toml's ranges with uv."; \
	  $(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
	    --python-platform x86_64-unknown-linux-gnu --no-header --no-annotate -q; } > requirements.lock

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
