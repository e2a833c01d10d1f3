# The two commands a new user needs: `make demo` and `make test`.
# Each creates .venv if it is missing and installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench docs datasets-table clean chromium screenshot

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { $(PYTHON) -m pip install --user virtualenv && $(PYTHON) -m virtualenv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

# everything the tests exercise: every optional extra plus pytest, array-api-strict, ruff and
# the documentation tools (tests/test_docs_site.py builds the site)
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,all,docs]"
	touch $@

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/python -m deltaprop demo

# the suite with the fused numba kernels (compiled once first: later runs load them from the
# disk cache), then the engine's and the training loop's tests again as if numba were absent
test: $(VENV)/.installed-test chromium
	$(BIN)/python -c "from deltaprop.nn.fused import compile_kernels; compile_kernels()"
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --without-numba tests/nn tests/training

# the playground's browser tests drive the system's Chromium (Debian's package; never a
# downloaded browser): installed here when it is missing and we are root, else they skip
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && apt-get install -y --no-install-recommends chromium; \
	else echo "make chromium: no /usr/bin/chromium and not root: the browser tests will skip" \
		"(as root: apt-get install chromium)"; fi

# the README's screenshot of the playground in step mode, taken by the browser test
screenshot: $(VENV)/.installed-test chromium
	DELTAPROP_UPDATE_SCREENSHOT=1 $(BIN)/python -m pytest -q tests/playground/test_playground_browser.py

# ruff, then the layering contract of pyproject.toml's [tool.importlinter] (arrows point down)
lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests examples benchmarks docs
	$(BIN)/lint-imports

# the speed harness lives in benchmarks/ (not installed with the package)
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench.py

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

# the documentation site (mkdocs.yml) into site/; strict: a broken link or reference fails
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

# the README's data set table: deltaprop train NAME against scikit-learn's defaults
datasets-table: $(VENV)/.installed-test
	$(BIN)/python benchmarks/datasets_table.py

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .pytest_cache .ruff_cache
