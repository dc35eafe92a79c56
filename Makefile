# The two commands of the README: `make demo` and `make test`. Both create the virtual
# environment and install the project first, so they work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck unit explore bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The live pipeline on this machine: embedded broker, worker, sink, simulator feed and the
# wallboard (docs/demo.md). Ctrl-C stops it; `ccpipe sql` queries what it stored.
demo: install
	$(BIN)/ccpipe demo

lint: install
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/ruff format --check pipeline tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: lint typecheck unit

# The property tests with fresh random examples, RUNS times (the suite's are fixed so that a
# run never fails on a case nobody touched): stops at the first failure, which hypothesis
# prints with the example and a @reproduce_failure line (docs/reliability.md).
RUNS ?= 20
explore: install
	@for run in $$(seq $(RUNS)); do \
		echo "explore: run $$run of $(RUNS)"; \
		$(BIN)/pytest -q -m hypothesis --hypothesis-profile=explore -p no:cacheprovider || exit 1; \
	done

bench: install
	$(BIN)/python -m bench

# The wallboard screenshots of docs/demo.md, from the demo's simulated feed (needs chromium).
screenshots: install
	$(BIN)/python -m tests.demo.screenshots --out docs/img

clean:
	rm -rf $(VENV) .ccpipe .pytest_cache .mypy_cache .ruff_cache
