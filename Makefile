# The two commands a new user needs: `make demo` and `make test`.
# Each creates .venv if it is missing and installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { $(PYTHON) -m pip install --user virtualenv && $(PYTHON) -m virtualenv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

# everything the tests exercise: every optional extra plus pytest, array-api-strict and ruff
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,all]"
	touch $@

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/python -m deltaprop demo

# the suite with the fused numba kernels (compiled once first: later runs load them from the
# disk cache), then the engine's and the training loop's tests again as if numba were absent
test: $(VENV)/.installed-test
	$(BIN)/python -c "from deltaprop.nn.fused import compile_kernels; compile_kernels()"
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --without-numba tests/nn tests/training

# ruff, then the layering contract of pyproject.toml's [tool.importlinter] (arrows point down)
lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/lint-imports

# the speed harness lives in benchmarks/ (not installed with the package)
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
