# Everyday targets. `make help` lists them.
PY ?= .venv/bin/python
VENV_BIN := .venv/bin

.PHONY: help install check lint format typecheck test test-unit demo-local up demo down bench bench-fixtures ci clean
COMPOSE := docker compose -f docker/docker-compose.yml

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install:  ## create .venv and install with dev extras
	python3 -m venv .venv
	$(VENV_BIN)/pip install -e '.[dev]'

check: lint typecheck test  ## lint, type-check and test

lint:  ## ruff lint and format check
	$(VENV_BIN)/ruff check src tests bench
	$(VENV_BIN)/ruff format --check src tests bench

format:  ## apply ruff formatting and safe fixes
	$(VENV_BIN)/ruff format src tests bench
	$(VENV_BIN)/ruff check --fix src tests bench

typecheck:  ## mypy --strict on src
	$(VENV_BIN)/mypy

test:  ## the whole test suite
	$(VENV_BIN)/pytest

test-unit:  ## unit tests only (no database, no servers)
	$(VENV_BIN)/pytest tests/unit

demo-local:  ## run the pipeline here against the built-in simulated API (no Docker)
	$(VENV_BIN)/tasman-etl run --demo

up:  ## docker compose: start PostgreSQL and the S3 server, create the bronze bucket
	$(COMPOSE) up -d --build postgres s3 bucket-init

demo: up  ## docker compose: run the ETL image against the simulated API
	$(COMPOSE) run --rm etl run --demo

down:  ## docker compose: stop everything (add -v by hand to wipe the data)
	$(COMPOSE) down --remove-orphans

bench:  ## benchmark: tasman vs floor vs dlt at 5k/10k/50k jobs and 300 ms latency, writes bench/RESULTS.md (~13 min)
	$(VENV_BIN)/pip install -q -e '.[bench]'
	$(PY) bench/run_bench.py --standard --write bench/RESULTS.md

bench-fixtures:  ## load the real 2016 fixture pages and print items/s
	$(PY) bench/load_fixtures.py

ci:  ## what CI runs, on this checkout
	bash .ci/run

clean:  ## remove local data and caches (the embedded database and bronze included)
	rm -rf .tasman .pytest_cache .mypy_cache .ruff_cache build dist
