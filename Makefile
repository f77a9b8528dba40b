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

# The demo needs only the runtime dependencies (pyarrow, numpy, tzdata, tqdm, isal), not the
# dev extras; a venv that already has them (make test) is reused as it is.
DEMO_STAMP := $(VENV)/.demo-stamp

$(DEMO_STAMP): pyproject.toml
	test -f $(STAMP) || $(PYTHON) -m venv $(VENV)
	test -f $(STAMP) || $(BIN)/python -m pip install --quiet -e .
	touch $(DEMO_STAMP)

## demo: generate a small Bronze set, ingest it into ./demo-lake, show what landed
demo: $(DEMO_STAMP)
	rm -rf demo-lake
	$(BIN)/pointline --root demo-lake demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict pointline operators

## bench: the real runs: kernels and operators on 1M rows, end to end on 10M rows against
## the bare pyarrow read+write (Tardis L2 and the CN streams; CN L2_new on 1M rows), peak
## RSS at 1M/10M/30M rows (Tardis L2 and trades, CN SZSE order_new), one generated SZSE day
## of 2,300 symbols x 3 streams ingested (lake-scale figures), 8 files of 2M rows by 1 and
## 2 local workers and Ray (scale_out.py), Pointline vs bare vs Polars vs DuckDB on 10M-row
## Tardis L2, trades and CN order files (peers.py); writes benchmarks/results.json and the
## table in benchmarks/README.md (~35 minutes; more when the inputs are first generated)
BENCH_E2E_ROWS ?= 10000000
BENCH_RSS_ROWS ?= 1000000 10000000 30000000
BENCH_CN_ROWS ?= 10000000
BENCH_CN_L2_ROWS ?= 1000000
BENCH_INPUT_RSS_ROWS ?= 1000000 10000000 30000000
BENCH_CN_DAY_SYMBOLS ?= 2300
BENCH_SCALE_FILES ?= 8
BENCH_SCALE_ROWS ?= 2000000
bench: $(STAMP)
	POINTLINE_E2E_ROWS=$(BENCH_E2E_ROWS) POINTLINE_CN_ROWS=$(BENCH_CN_ROWS) \
		POINTLINE_CN_L2_ROWS=$(BENCH_CN_L2_ROWS) $(BIN)/pytest benchmarks --benchmark-only \
		--benchmark-columns=min,median,mean,rounds -p no:cacheprovider \
		--benchmark-json=benchmarks/.data/pytest-benchmark.json
	$(BIN)/python benchmarks/rss.py --rows $(BENCH_RSS_ROWS) --input-rows $(BENCH_INPUT_RSS_ROWS) \
		--out benchmarks/.data/rss.json
	$(BIN)/python benchmarks/cn_day.py --symbols $(BENCH_CN_DAY_SYMBOLS) \
		--out benchmarks/.data/cn_day.json
	$(BIN)/python benchmarks/scale_out.py --files $(BENCH_SCALE_FILES) \
		--rows $(BENCH_SCALE_ROWS) --out benchmarks/.data/scale_out.json
	$(BIN)/python benchmarks/peers.py --rows $(BENCH_E2E_ROWS) --out benchmarks/.data/peers.json
	$(BIN)/python benchmarks/report.py --command "make bench"

clean:
	rm -rf $(VENV) demo-lake .pytest_cache .mypy_cache .ruff_cache .benchmarks
