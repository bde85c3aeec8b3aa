# Aegis data platform. `make run` and `make test` install everything they need on a fresh
# Debian machine: apt packages, a .venv with the project, and the local servers.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
STACK_ROOT ?= .aegis
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PG_INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))

# Playwright (the browser tests) drives Debian's Chromium; it never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: setup system-deps run test test-fast dev down lint bench screenshots

## Install apt packages once, after apt-get update: PostgreSQL, Java 17 + Maven for the JVM
## servers (Kafka, Neo4j, OpenSearch), whose jars Maven fetches into ~/.cache/aegis/maven,
## Prometheus + its Pushgateway (with promtool) for the pipeline metrics and alert rules, and
## Chromium for the browser tests of the Dagster UI.
system-deps:
	@if [ -z "$(PG_INITDB)" ] || ! $(PYTHON) -c "import ensurepip, venv" 2>/dev/null; then \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql postgresql-contrib python3-venv; \
	fi
	@if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y openjdk-17-jre-headless maven; \
	fi
	@if ! command -v prometheus >/dev/null 2>&1 || ! command -v prometheus-pushgateway >/dev/null 2>&1; then \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus prometheus-pushgateway; \
	fi
	@if [ ! -x /usr/bin/chromium ]; then \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## Python environment, system packages, and the JVM servers' jars (Maven, cached in ~/.cache/aegis).
setup: system-deps $(BIN)/.installed
	$(BIN)/aegis devstack fetch

## Start the local stack, collect the bundled snapshot over HTTP, materialize every asset, print a summary.
run: setup
	$(BIN)/aegis devstack up --root $(STACK_ROOT)
	set -a; eval "$$($(BIN)/aegis devstack env --root $(STACK_ROOT))"; set +a; \
	  $(BIN)/aegis demo

## The full test suite (CI runs exactly this): the quality gates first (`make lint`, mypy --strict
## on the library, bandit on both packages; settings in pyproject.toml), then pytest with
## coverage, which fails below the floor set by --cov-fail-under in pyproject.toml.
test: setup lint
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r aegis_shared aegis_orchestration
	$(BIN)/pytest --cov

## Dagster UI on http://127.0.0.1:3000 against the local stack; every source reads the bundled
## snapshot from the stack's replay server, so runs and backfills need no keys
## (`aegis devstack up --no-replay` and the AEGIS_*_BASE_URL/key settings for the real APIs).
dev: setup
	$(BIN)/aegis devstack up --root $(STACK_ROOT)
	set -a; eval "$$($(BIN)/aegis devstack env --root $(STACK_ROOT))"; set +a; \
	  $(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

## Stop exactly what `make run`/`make dev` started.
down:
	$(BIN)/aegis devstack down --root $(STACK_ROOT)

## Browser tests of the Dagster UI; also writes the README's screenshots to docs/images.
screenshots: setup
	AEGIS_UI_DOCS_IMAGES=docs/images $(BIN)/pytest tests/aegis_orchestration/ui

## Lint and formatting over the whole tree, as CI checks them (`ruff format .` fixes the second).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## The tests that start no server and no subprocess of Dagster (markers `stack` and `slow`, set in
## tests/conftest.py and by hand): a quick loop while editing. AEGIS_TEST_STACK=off makes a test
## that still reaches the stack fail with a message instead of starting every server.
test-fast: setup lint
	AEGIS_TEST_STACK=off $(BIN)/pytest -q -m "not stack and not slow"

## Every benchmark, each on servers it starts itself (nothing needs to be running), then one
## table: name, ours, raw, ratio, goal, pass/fail. `make bench BENCH_ARGS=--quick` checks the
## wiring on small inputs; `BENCH_ARGS="--only publish cache"` picks benchmarks.
BENCH_ARGS ?=
bench: setup
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
