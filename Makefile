# One task runner: the README and .ci/run use these targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo lint typecheck bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## test: the full gate (tests, benchmark smoke, lint, format, types)
test: $(STAMP)
	$(BIN)/pytest -q
	POINTLINE_BENCH_ROWS=20000 $(BIN)/pytest -q benchmarks --benchmark-disable -p no:cacheprovider
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict pointline operators

## demo: generate a small Bronze set, ingest it into ./demo-lake, show what landed
demo: $(STAMP)
	rm -rf demo-lake
	$(BIN)/pointline --root demo-lake demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict pointline operators

## bench: the real benchmark runs (1M values per kernel)
bench: $(STAMP)
	$(BIN)/pytest benchmarks --benchmark-only --benchmark-columns=min,median,mean,rounds

clean:
	rm -rf $(VENV) demo-lake .pytest_cache .mypy_cache .ruff_cache .benchmarks
