# The two Quickstart commands: `make demo` (main job) and `make test` (whole test suite).
# Both create or reuse a local virtual environment in .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo run test venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kafkasim demo

run: $(STAMP)
	$(BIN)/kafkasim run

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) results .pytest_cache
