# The commands a person runs. `make run` and `make test` set up what is missing first:
# system packages (PostgreSQL, PostGIS, Chromium, GDAL), the virtual environment and the package.

VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=
# pytest-xdist workers: one per core, at most four (each loads the demo into a database of its own).
TEST_WORKERS ?= auto --maxprocesses 4

.PHONY: run test setup system lint typecheck bench clean help

help:
	@echo "make run    - set up what is missing, load the Solberga demo, serve http://127.0.0.1:8000"
	@echo "make test   - set up what is missing, run the whole test suite against a real PostGIS"
	@echo "make setup  - only the set-up (system packages, .venv, the package)"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - the benchmarks (figures and ratios to their targets; not run by CI)"

run: setup
	@echo "[run] loading the Solberga/Älvsjö demo data"
	$(VENV)/bin/nattvandring demo load
	@echo "[run] starting the web app"
	exec $(VENV)/bin/nattvandring serve

test: setup
	@echo "[test] ruff (lint and format) and mypy"
	$(VENV)/bin/ruff check geo routes api maps tests bench
	$(VENV)/bin/ruff format --check geo routes api maps tests bench
	$(VENV)/bin/mypy
	@echo "[test] running the test suite against a real PostGIS"
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

setup: system $(STAMP) tests/axe/node_modules

# axe-core for the accessibility tests (tests/api/test_axe.py), from npm, once.
tests/axe/node_modules: tests/axe/package-lock.json
	@if [ ! -d tests/axe/node_modules ]; then echo "[setup] installing axe-core (npm)"; \
	  cd tests/axe && npm ci --no-audit --no-fund; fi

system:
	@bash scripts/setup-system.sh

$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then echo "[setup] creating the virtual environment $(VENV)"; $(PYTHON) -m venv $(VENV); fi
	@echo "[setup] installing nattvandring and its dependencies into $(VENV)"
	@$(PY) -m pip install -qq --upgrade pip
	@$(PY) -m pip install -qq -e '.[test]'
	@touch $(STAMP)

bench: setup
	@status=0; for b in bench/deviations.py bench/heat.py bench/routes.py bench/import_osm.py bench/export.py bench/fuzz.py bench/schemathesis_run.py bench/outage.py bench/peak.py bench/tiles.py bench/night_map.py; do \
	  if [ -f $$b ]; then echo "[bench] $$b"; $(PY) $$b || status=1; fi; done; exit $$status

lint: setup
	$(VENV)/bin/ruff check geo routes api maps tests bench
	$(VENV)/bin/ruff format --check geo routes api maps tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
