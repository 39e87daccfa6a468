# Two commands set everything up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The stamp is keyed on the files that decide what gets installed, so a re-run
# with nothing changed skips the install.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
# llama-cpp-python ships only as source: it is compiled once (minutes on two cores) into this
# wheelhouse, and every later install, in any clone on this machine, takes the cached wheel.
WHEELHOUSE ?= $(HOME)/.cache/trainyard/wheels
LLAMA_VERSION := $(shell sed -n 's/^llama[-_]cpp[-_]python==//p' constraints.txt)
UV_INSTALL := $(BIN)/uv pip install --quiet --compile-bytecode

.PHONY: install demo test test-quick lint core-check docs bench constraints clean browser

install: $(STAMP)

# pip installs torch (only pip finds the CPU build on this machine's disk; uv would fetch a CUDA build of
# several GB) and uv; uv installs the rest, with torch already satisfied, and compiles the bytecode there
# (without it, the first test processes compiled it: 2.5 minutes more of pytest): 70 s against pip's 3.5 minutes.
$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt torch uv
	@ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || { \
		echo "building llama-cpp-python $(LLAMA_VERSION) once (several minutes); cached in $(WHEELHOUSE)"; \
		$(BIN)/python -m pip wheel --quiet --no-deps -w $(WHEELHOUSE) llama-cpp-python==$(LLAMA_VERSION); }
	$(UV_INSTALL) --python $(BIN)/python -c constraints.txt --find-links $(WHEELHOUSE) -e '.[all,test,bench]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(BIN)/trainyard demo

# Lint and the core check run side by side (one core each; -O keeps each one's output together). Then the
# tests, in two worker processes (pytest-xdist), each file's tests in one of them so that its module fixtures
# are built once; the slowest 25 are listed at the end (tests/README.md: where the time goes).
TEST_WORKERS ?= 2
test: $(STAMP)
	@$(MAKE) --no-print-directory -j2 -O browser lint core-check
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=25

# The quick tier: everything but the tests marked slow (clusters, the local LLM, the browser, LM training,
# kills at random moments). Minutes, and green without ../shared.
test-quick: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

# The core alone: the wheel and sdist build and pass twine's check; the wheel, without any extra, goes
# into a fresh venv, and profiles and trains on a table (shared data when present, else the demo market).
CORE := $(CURDIR)/.core-venv
core-check: $(STAMP)
	@rm -rf dist build $(CORE)
	$(BIN)/python -m build --no-isolation --wheel --sdist --outdir dist . >/dev/null
	$(BIN)/python -m twine check --strict dist/*
	$(BIN)/python -m venv $(CORE)
	$(UV_INSTALL) --python $(CORE)/bin/python -c constraints.txt dist/trainyard-*.whl
	cd $(CORE) && ./bin/python $(CURDIR)/.ci/core_check.py
	@rm -rf $(CORE) build

# Style, types and layers, before the tests; each names the file and line it objects to.
# ruff (lint and format, pyproject's rule set), mypy (strict on the public API), import-linter (the layers).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench .ci
	$(BIN)/ruff format --check src tests bench .ci
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The report test opens a real browser: Debian's chromium (never a browser download).
# Installing needs root and apt; without them the test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
		&& echo "installed Debian's chromium for the report test" \
		|| echo "could not install chromium (needs root and apt): the browser test will skip"; }

# The API reference, from the docstrings of the public names (trainyard.__all__), into docs/api/.
docs: $(STAMP)
	$(BIN)/pdoc --docformat markdown -o docs/api trainyard '!trainyard\..*'
	@echo "wrote docs/api/trainyard.html"

bench: $(STAMP)
	$(BIN)/python bench/readers.py

# Re-pin the versions installed now (after changing dependencies in pyproject.toml).
constraints:
	@{ head -2 constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -viE '^(trainyard|pip|setuptools|wheel)=='; } > constraints.new
	@mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) demo-output .pytest_cache
