# Two commands on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run exe test test-slow test-windows mutation screenshots translations clean

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

# The Windows executable built under Wine and smoke-tested there (build/wine.sh; its cache
# is ~/.cache/larder-wine). Without Wine: skipped here, a failure under CI=true.
test-windows: $(VENV)/.installed
	@if command -v wine >/dev/null; then \
		LINUX_PYTHON=$(PY) build/wine.sh all; \
	elif [ "$$CI" = true ]; then \
		echo "test-windows: wine is not installed (apt-get install wine64 wine)" >&2; exit 1; \
	else \
		echo "test-windows: SKIPPED: wine is not installed (apt-get install wine64 wine)"; \
	fi

# Mutation check of the money and figures modules (minutes; not part of `make test`).
mutation: $(VENV)/.installed
	$(PY) tools/mutation.py --min 90

# The pictures of README.md and docs/interface.md (docs/img/*.png): made by the browser tests
# that check those pages, on a demo shop (CI=true: no Chromium is a failure, not a skip).
SHOT_TESTS := tests/test_screenshots.py tests/test_browser_reports.py
screenshots: $(VENV)/.installed
	LARDER_SCREENSHOTS=docs/img CI=true $(PY) -m pytest -q -p no:cacheprovider $(SHOT_TESTS)

# The words in other languages (webapp/translations/, docs/interface.md "Languages"):
# collect every string of the code and templates into messages.pot, add the new ones to
# each language's messages.po (to be translated there), and compile the .mo files that
# Larder reads (committed: running from source and the executable need no build step).
BABEL := $(VENV)/bin/pybabel
TRANSLATIONS := webapp/translations
translations: $(VENV)/.installed
	$(BABEL) extract -F babel.cfg -k lazy_gettext --no-location --sort-output \
		--omit-header -o $(TRANSLATIONS)/messages.pot .
	$(BABEL) update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching \
		--ignore-obsolete
	$(BABEL) compile -d $(TRANSLATIONS) --statistics

clean:
	rm -rf $(VENV) .pytest_cache
