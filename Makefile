# seglab: `make help` lists the targets. `make report` and `make test` create the environment first.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.seglab-installed
CONFIG ?= configs/default.yaml

.PHONY: help env test lint format report clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

env: $(STAMP) ## create .venv with python3 -m venv and install seglab[dev,spark] (only when missing or stale)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(STAMP)

test: env ## run unit tests, doctests and the notebooks (nbval)
	MPLBACKEND=Agg SEGLAB_NOTEBOOK_CONFIG=../configs/quick.yaml \
		$(BIN)/python -m pytest tests seglab notebooks --nbval-lax --durations=15

lint: env ## check formatting and lint rules with ruff
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: env ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

report: env ## render the default report (CONFIG=... for another config)
	$(BIN)/seglab report --config $(CONFIG)

clean: ## remove generated data, caches and rendered reports (keeps .venv)
	rm -rf data/interim/* data/raw/synthetic reports/*/ .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
