# borderabm: `make run` and `make test` set everything up (idempotently) and do the job.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= out

.PHONY: setup run test ui bench lint map clean browser validate calibrate

setup: $(STAMP)

$(STAMP): pyproject.toml
	@python="$${PYTHON:-$$(scripts/find-python.sh)}" || exit 1; \
	if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	  echo "creating $(VENV) with $$python"; rm -rf $(VENV); "$$python" -m venv $(VENV) || exit 1; \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: setup
	$(BIN)/borderabm map --out $(OUT)/world.png
	$(BIN)/borderabm run baseline --out $(OUT)/baseline
	$(BIN)/borderabm compare baseline fence_full trade_corridor fence_and_corridor --replicates 5 \
	  --out $(OUT)/compare --report $(OUT)/report

test: setup browser
	$(BIN)/python -m pytest

# The browser tests need Debian's Chromium (Playwright drives it; it never downloads a browser).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "error: the browser tests need Chromium: sudo apt-get install chromium" >&2; exit 1; fi; \
	fi

ui: setup
	$(BIN)/borderabm ui

# The full validation suite (20 paired replicates per fact) and its report in docs/validation/.
validate: setup
	$(BIN)/borderabm validate-model --replicates 20 --out docs/validation

# Refit the baseline to the published targets; the report goes to docs/calibration/.
calibrate: setup
	$(BIN)/borderabm calibrate calibration/baseline.toml --out results/calibration-baseline

bench: setup
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_ui.py

# Style, types ([tool.mypy]) and the one-way layers of the package ([tool.importlinter]).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
