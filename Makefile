# Two commands on a fresh machine: `make demo` (install, run the default experiment) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test test-all lint bench app docs-images clean clean-kernels

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m sim experiment=demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-all: $(STAMP)
	$(BIN)/python -m pytest -m "slow or not slow"

app: $(STAMP)
	$(BIN)/python -m sim app

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/bench_engines.py
	$(BIN)/python benchmarks/bench_reference.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_optimize.py

docs-images: $(STAMP)
	$(BIN)/python docs/make_images.py

clean: clean-kernels
	rm -rf $(VENV) outputs multirun .pytest_cache .ruff_cache .hypothesis

# numba's cache of the compiled kernels: it does not notice when a kernel another kernel calls
# changes in another module, so after editing one, clear them (they recompile on first use)
clean-kernels:
	find sim -name '*.nbi' -delete -o -name '*.nbc' -delete
