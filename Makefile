# pairwatch: every target creates or reuses .venv itself, so on a fresh machine
# `make run` and `make test` are the only set-up commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
SIM_PORT ?= 8765
export PYTHONPATH := $(CURDIR)

.PHONY: run demo test bench soak lint format clean

$(RUNTIME): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## run: the product against live Binance (dashboard on http://127.0.0.1:8050)
run: $(RUNTIME)
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:server

## demo: the product fed by the built-in simulator (offline), marked SIMULATED
demo: $(RUNTIME)
	PAIRWATCH_DEMO=1 \
	PAIRWATCH_FEED__WS_URL=ws://127.0.0.1:$(SIM_PORT) \
	PAIRWATCH_FEED__REST_URL=http://127.0.0.1:$(SIM_PORT) \
	PAIRWATCH_STORAGE__URL=sqlite:///data/demo.db \
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:server

## test: the whole test suite (unit, end to end, reliability, browser)
test: $(DEV)
	$(BIN)/python -m pytest

## bench: benchmarks; figures printed and written to bench-results/
bench: $(DEV)
	$(BIN)/python -m tests.bench.run_all

## soak: 10 minutes at full simulator speed; RSS of ingest and dashboard must stay flat
soak: $(DEV)
	$(BIN)/python -m tests.reliability.soak --minutes 10

## lint: ruff (lint and format) and mypy over the three packages; CI runs it before the tests
lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy analytics ingest dashboard

format: $(DEV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache bench-results test-results
