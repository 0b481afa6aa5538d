# speechtools developer entry points.
#   make test   create .venv if missing, install with pinned constraints, run the test suite
#   make demo   same install, then run the main recipe on the bundled mini corpus
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_RECIPE ?= egs/ljspeech/fastspeech2
PYTEST_ARGS ?=

.PHONY: test demo install clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=23" "setuptools<81" wheel

# Re-install only when the dependency declarations change: a second `make test` is fast.
$(STAMP): $(BIN)/python setup.cfg constraints.txt pyproject.toml
	PIP_CONSTRAINT=$(CURDIR)/constraints.txt $(BIN)/python -m pip install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(BIN)/python -m pytest -q $(PYTEST_ARGS)

demo: $(STAMP)
	cd $(DEMO_RECIPE) && PATH=$(CURDIR)/$(BIN):$$PATH ./run.sh

clean-venv:
	rm -rf $(VENV)
