# Moazara: `make demo` and `make test` on a fresh machine with Python 3.11+ and a package index.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install test demo up down clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -rs

up: $(STAMP)
	$(PY) -m demo.services up

demo: up
	$(PY) -m demo

down:
	$(PY) -m demo.services down

clean: down
	rm -rf var
