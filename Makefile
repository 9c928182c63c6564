# Two commands on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run serve test test-slow bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Set up and run Larder from source.
run: $(VENV)/.installed
	$(PY) -m desktop serve

# Set up and run the default (fast) test suite.
test: $(VENV)/.installed
	$(PY) -m pytest

# Long checks: executable build, soak (run by .ci/run as their own step).
test-slow: $(VENV)/.installed
	$(PY) -m pytest -m slow

clean:
	rm -rf $(VENV) .pytest_cache
