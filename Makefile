# Vigie — the two commands a new user needs:
#   make demo   set up, build the demo city's store and serve it on http://127.0.0.1:5000
#   make test   set up with the test extras and run every test
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
GEO_APP := $(VENV)/bin/geo-app
export GEO_APP_HOME ?= $(CURDIR)/instance
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test install install-test assets messages bench clean

$(VENV)/.base: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

install: $(VENV)/.base assets
install-test: $(VENV)/.test assets

assets:
	@# third-party JS/CSS from npm into node_modules/ (served by the app under /vendor/), never committed
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund --loglevel=error; fi
	@# translations: compile geo_app/translations/*/LC_MESSAGES/messages.po into .mo
	@# a catalogue that does not compile (placeholder errors: exit 1) or does not parse (pybabel
	@# only warns "Problem on line N") fails the build, its messages shown
	@out=$$($(VENV)/bin/pybabel compile -f -d geo_app/translations 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ] || echo "$$out" | grep -q "Problem on line"; then echo "$$out" >&2; \
	  echo "make assets: pybabel compile failed" >&2; exit 1; fi; \
	  echo "$$out" | grep -v "^compiling catalog" || true

messages:
	@# re-extract the msgids (French source text) and merge them into the .po files; then translate
	@# the new entries of geo_app/translations/en/LC_MESSAGES/messages.po and run make assets
	$(VENV)/bin/pybabel extract -F geo_app/translations/babel.cfg -k N_ --sort-output --no-location \
	  --project Vigie -o geo_app/translations/messages.pot .
	$(VENV)/bin/pybabel update -i geo_app/translations/messages.pot -d geo_app/translations \
	  --no-fuzzy-matching --ignore-obsolete -w 100

demo: install
	$(GEO_APP) demo
	@echo "Vigie (demo city, simulated incidents) on http://$(HOST):$(PORT)/"
	$(GEO_APP) serve --host $(HOST) --port $(PORT)

test: install-test
	$(PY) -m pytest -n 2 --durations=15

bench: install-test
	$(PY) -m bench

clean:
	rm -rf $(VENV) instance build dist *.egg-info geo_app/static/vendor
