# Moazara: `make demo` and `make test` on a fresh machine with Python 3.11+ and a package index.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install test lint demo up down clean gateway console lock bench bench-edition properties browser fonts map

# Runtime dependencies exactly as deploy/requirements.lock (what the image ships), hashes checked;
# then the project and its dev extras, with the lock's versions as constraints (pip refuses hashes
# in a constraints file, so they are given without).
$(STAMP): pyproject.toml deploy/requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes --no-deps -r deploy/requirements.lock
	sed -n 's/^\([A-Za-z0-9._-]*==[^ ;]*\).*/\1/p' deploy/requirements.lock > $(VENV)/locked-versions.txt
	$(PY) -m pip install -q -c $(VENV)/locked-versions.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) browser fonts map

# The documents' PDF (WeasyPrint): Pango, and fonts for Arabic (Amiri) and Latin (DejaVu Sans).
fonts:
	@test -f /usr/share/fonts/opentype/fonts-hosny-amiri/Amiri-Regular.ttf && ldconfig -p | grep -q libpangoft2-1.0 \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-hosny-amiri fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0; }

# The console's browser tests drive Debian's Chromium (never a browser download by Playwright).
CHROMIUM ?= /usr/bin/chromium
# axe-core (accessibility checks injected by the browser tests) comes from the npm registry.
AXE := var/npm/node_modules/axe-core/axe.min.js
browser: $(AXE)
	@test -x $(CHROMIUM) || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

$(AXE):
	npm install --silent --no-audit --no-fund --prefix var/npm axe-core@4.11

# The dashboard's map of the 12 Regions: boundaries from the npm package morocco-map (ODbL 1.0,
# from OpenStreetMap), turned once into one simplified SVG path per Region (charts/regions_map.py).
MAP_SOURCE := var/npm/node_modules/morocco-map/data/regions.json
MAP := var/map/regions.json
map: $(MAP)

$(MAP_SOURCE):
	npm install --silent --no-audit --no-fund --prefix var/npm morocco-map@1.3.0

$(MAP): $(MAP_SOURCE) charts/regions_map.py | $(STAMP)
	$(PY) -m charts.regions_map $(MAP_SOURCE) $(MAP)

# After changing a dependency in pyproject.toml (docs/operations.md, "Dependencies"): pin the runtime
# dependencies again with their hashes, then install them. LOCK_ARGS=--upgrade moves every pin.
LOCK_ARGS ?=
lock:
	@test -x $(VENV)/bin/pip-compile || $(MAKE) $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile -q --generate-hashes --strip-extras \
	  --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) -o deploy/requirements.lock pyproject.toml
	$(MAKE) $(STAMP)

# Lint and types first: ruff (rules and format in pyproject.toml), mypy --strict on the core.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Two processes: most tests wait on servers, not on the CPU; a file's tests stay in one process
# (its servers are module fixtures). (--dist loadgroup does not group under pytest 9.)
TEST_WORKERS ?= 2
test: lint browser fonts map
	$(PY) -m pytest -q -rs -n $(TEST_WORKERS) --dist loadfile

# The envelope properties with many examples (make test runs a few), shrinking what they find.
properties: $(STAMP)
	PROPERTY_EXAMPLES=$${PROPERTY_EXAMPLES:-60} $(PY) -m pytest -q -p no:cacheprovider tests/workflows/test_envelope_properties.py
	$(PY) -m pytest -q -p no:cacheprovider tests/domain/test_envelopes.py --hypothesis-seed=$${SEED:-$$RANDOM}

up: $(STAMP) map
	$(PY) -m demo.services up

demo: up
	$(PY) -m demo

down:
	$(PY) -m demo.services down

# Benchmarks: figures written under bench/results/ (never asserted in tests).
bench: $(STAMP)
	$(PY) -m bench.committee -n 10000
	$(PY) -m bench.replay
	$(PY) -m bench.lifecycle -n 200 --import-n 300
	$(PY) -m bench.lifecycle -n 200 --import-n 300 --postgresql $${TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
	$(PY) -m bench.console -n 10000
	$(PY) -m bench.console -n 10000 --postgresql $${TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
	$(PY) -m bench.outbound -n 300
	$(PY) -m bench.sizing -n 1000

# An edition of 10,000 applications end to end on the embedded default (bench/sizing.py): each
# phase's time, workflow-task latencies, history and database sizes, peak memory. Past 90 minutes
# it stops and reports the rates reached and what they extrapolate to.
bench-edition: $(STAMP)
	$(PY) -m bench.sizing -n 10000 --budget-minutes 90

gateway: $(STAMP)
	$(PY) -m gateway

console: $(STAMP) map
	$(PY) -m console

clean: down
	rm -rf var

# Golden histories (tests/golden/*.json): every lifecycle path run on the time-skipping server and
# exported. Refresh only for a workflow change that is safe for workflows in flight (README, "Auditing").
.PHONY: golden
golden: $(STAMP)
	$(PY) -m tests.golden_histories

# Chaos (not in make test): a 500-application edition on the embedded default while a seeded driver
# kills the worker and the Temporal server 100 times, then its invariants (docs/testing.md).
# SEED=N replays a run; a failure prints its seed.
.PHONY: chaos
chaos: $(STAMP)
	$(PY) -m chaos --applications 500 --kills 100 $(if $(SEED),--seed $(SEED))
