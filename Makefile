# Two commands on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run exe test test-slow mutation clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Set up and run Larder from source: the desktop window (headless with a printed link
# when there is no display).
run: $(VENV)/.installed
	$(PY) -m desktop

# The executable: dist/larder, then its smoke test.
exe: $(VENV)/.installed
	$(PY) build/build.py

# Set up and run the default (fast) test suite.
test: $(VENV)/.installed
	$(PY) -m pytest

# Long checks: executable build, soak (run by .ci/run as their own step).
test-slow: $(VENV)/.installed
	$(PY) -m pytest -m slow

# Mutation check of the money and figures modules (minutes; not part of `make test`).
mutation: $(VENV)/.installed
	$(PY) tools/mutation.py --min 90

clean:
	rm -rf $(VENV) .pytest_cache
