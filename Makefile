# Everyday targets. `make help` lists them.
PY ?= .venv/bin/python
VENV_BIN := .venv/bin

.PHONY: help install lock check lint format typecheck test test-fast test-unit links links-offline sample demo-local up demo down bench bench-fixtures ci clean
COMPOSE := docker compose -f docker/docker-compose.yml
# Lychee (external link checker), pinned; `make links LYCHEE_IMAGE=...` to try another.
LYCHEE_IMAGE ?= lycheeverse/lychee:0.24.2

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install:  ## create .venv and install with dev extras, pinned by requirements.lock
	python3 -m venv .venv
	$(VENV_BIN)/pip install -c requirements.lock -e '.[dev]'

lock:  ## refresh requirements.lock: resolve pyproject.toml afresh in a scratch venv and pin it
	rm -rf build/lock-venv
	python3 -m venv build/lock-venv
	build/lock-venv/bin/pip install --quiet -e '.[dev]'
	{ sed -n '/^#/!q;p' requirements.lock; build/lock-venv/bin/pip freeze --exclude-editable; } \
		> build/requirements.lock.new
	mv build/requirements.lock.new requirements.lock
	rm -rf build/lock-venv
	@echo "requirements.lock refreshed: run make test, then commit it"

check: test  ## the same as make test

lint:  ## ruff lint and format check
	$(VENV_BIN)/ruff check src tests bench
	$(VENV_BIN)/ruff format --check src tests bench

format:  ## apply ruff formatting and safe fixes
	$(VENV_BIN)/ruff format src tests bench
	$(VENV_BIN)/ruff check --fix src tests bench

typecheck:  ## mypy --strict on src
	$(VENV_BIN)/mypy

test: lint typecheck test-fast  ## linters, type checks, then the whole test suite

test-fast:  ## the whole test suite alone (no linters, no type checks)
	$(VENV_BIN)/pytest

test-unit:  ## unit tests only (no database, no servers)
	$(VENV_BIN)/pytest tests/unit

links:  ## every link of every .md, external ones too: Lychee in Docker (set GITHUB_TOKEN); not run in CI
	docker run --rm --init -e GITHUB_TOKEN -v "$(CURDIR):/input:ro" -w /input $(LYCHEE_IMAGE) \
		--no-progress --include-fragments --exclude-path .venv --exclude-path build \
		'./**/*.md'

links-offline:  ## internal links and #anchors of every .md (what CI runs; no network)
	$(VENV_BIN)/pytest -q tests/unit/project/test_doc_links.py

sample:  ## regenerate data/sample/ (synthetic search pages from the simulator, fixed seed)
	$(PY) -m tasman_etl.simulator.sample data/sample

demo-local:  ## run the pipeline here against the built-in simulated API (no Docker)
	$(VENV_BIN)/tasman-etl run --demo

up:  ## docker compose: start PostgreSQL and the S3 server, create the bronze bucket
	$(COMPOSE) up -d --build postgres s3 bucket-init

demo: up  ## docker compose: run the ETL image against the simulated API
	$(COMPOSE) run --rm etl run --demo

down:  ## docker compose: stop everything (add -v by hand to wipe the data)
	$(COMPOSE) down --remove-orphans

bench:  ## benchmark: tasman vs floor vs dlt at 5k/10k/50k jobs, 300 ms latency, small load/replay; writes bench/RESULTS.md (~17 min)
	$(VENV_BIN)/pip install -q -c requirements.lock -e '.[bench]'
	$(PY) bench/run_bench.py --standard --write bench/RESULTS.md

bench-fixtures:  ## load the real 2016 fixture pages and print items/s
	$(PY) bench/load_fixtures.py

ci:  ## what CI runs, on this checkout
	bash .ci/run

clean:  ## remove local data and caches (the embedded database and bronze included)
	rm -rf .tasman .pytest_cache .mypy_cache .ruff_cache build dist
