# Two commands set everything up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The stamp is keyed on the files that decide what gets installed, so a re-run
# with nothing changed skips the install.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)

.PHONY: install demo test bench constraints clean

install: $(STAMP)

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(BIN)/trainyard demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/readers.py

# Re-pin the versions installed now (after changing dependencies in pyproject.toml).
constraints:
	@{ head -2 constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -viE '^(trainyard|pip|setuptools|wheel)=='; } > constraints.new
	@mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) demo-output .pytest_cache
