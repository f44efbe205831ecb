# The two Quickstart commands: `make demo` (main job) and `make test` (whole test suite);
# `make property` runs the long profile of the random-configuration property tests;
# `make notebooks` opens the tutorial notebooks in JupyterLab.
# Each creates or reuses a local virtual environment in .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NOTEBOOK_STAMP := $(VENV)/.notebook-stamp

.PHONY: demo run test property venv notebooks validate-rare clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(NOTEBOOK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,notebook]'
	touch $(NOTEBOOK_STAMP)

notebooks: $(NOTEBOOK_STAMP)
	$(BIN)/jupyter lab notebooks/

demo: $(STAMP)
	$(BIN)/kafkasim demo

run: $(STAMP)
	$(BIN)/kafkasim run

test: $(STAMP)
	$(BIN)/python -m pytest

# The rare-event estimators against crude Monte Carlo, and their targets (docs/rare-events.md)
validate-rare: $(STAMP)
	$(BIN)/python experiments/validate_rare.py

# the long profile of the property tests: 2,000 random configurations per property (about half an hour)
property: $(STAMP)
	KAFKASIM_PROPERTY_EXAMPLES=$${KAFKASIM_PROPERTY_EXAMPLES:-2000} $(BIN)/python -m pytest tests/test_random_configs.py --timeout=0 -q

clean:
	rm -rf $(VENV) results .pytest_cache
