# Two commands matter: `make run` and `make test`. Both create .venv and install the
# pinned requirements the first time, and again only when a requirements file changes.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000
HOST ?= 127.0.0.1
PYTEST_ARGS ?=

.PHONY: run test lint format bench bench-quick openapi erd install clean \
	lint-api lint-api-spec lint-api-redocly lint-api-spectral lint-api-types \
	collection collection-test docs

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "MediTrack needs Python 3.11 or newer (found " + sys.version.split()[0] + ")")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

# The server's settings (workers, threads, timeouts, limits) are in meditrack/serving/settings.py.
run: install
	$(BIN)/flask db upgrade
	@if [ "$${MEDITRACK_DEMO:-1}" != "0" ]; then $(BIN)/flask seed-demo --if-empty; \
	else echo "Demo data skipped (MEDITRACK_DEMO=0). Create an admin: .venv/bin/flask create-admin --email you@example.org --name 'Your Name'"; fi
	@echo ""
	@echo "  MediTrack API    http://$(HOST):$(PORT)/"
	@echo "  Interactive docs http://$(HOST):$(PORT)/docs"
	@echo "  OpenAPI spec     http://$(HOST):$(PORT)/openapi.json"
	@echo ""
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn --config python:meditrack.serving.settings wsgi:app

test: install
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# Style, security lint (bandit: medium and high findings fail) and known-vulnerable pins.
# bandit reads the service and its scripts; bench/ (a developer tool that builds its bulk
# SQL from its own constants) is left out.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet --recursive --severity-level medium meditrack scripts wsgi.py
	$(BIN)/python scripts/audit_requirements.py

# The OpenAPI document linted and turned into TypeScript types (CONTRIBUTING.md). This needs
# Node and npm; `make run` and `make test` never do. The pinned tools in tools/ are installed
# again only when tools/package-lock.json changes. Both the committed docs/openapi.json and
# the document the code serves now (exported into tools/build/fresh/) are checked; a
# warning fails as an error does. `make lint-api` runs every check even when one fails;
# each check also runs alone (make lint-api-redocly, lint-api-spectral, lint-api-types).
NODE_TOOLS := tools/node_modules
NODE_STAMP := $(NODE_TOOLS)/.installed
NODE_BIN := $(NODE_TOOLS)/.bin
API_BUILD := tools/build
API_SPECS := docs/openapi.json $(API_BUILD)/fresh/openapi.json
TSC_FLAGS := --noEmit --strict --noUnusedLocals --target es2022 --module esnext --moduleResolution bundler --lib es2022,dom
# Redocly CLI sends usage data unless told not to.
export REDOCLY_TELEMETRY := off

# --ignore-scripts: the one install script in the lock file is @scarf/scarf's usage report.
# tools/check-node.cjs then fails, naming the tool, when Node is too old for one of them.
$(NODE_STAMP): tools/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make lint-api needs Node and npm (apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --prefix tools --ignore-scripts --no-audit --no-fund
	node tools/check-node.cjs
	@touch $(NODE_STAMP)

lint-api:
	$(MAKE) --no-print-directory -k lint-api-redocly lint-api-spectral lint-api-types

lint-api-spec: install
	@mkdir -p $(API_BUILD)/fresh
	LOG_LEVEL=WARNING $(BIN)/python scripts/export_openapi.py > $(API_BUILD)/fresh/openapi.json.tmp
	@mv $(API_BUILD)/fresh/openapi.json.tmp $(API_BUILD)/fresh/openapi.json

lint-api-redocly: $(NODE_STAMP) lint-api-spec
	$(NODE_BIN)/redocly lint --config tools/redocly.yaml --format stylish $(API_SPECS)

lint-api-spectral: $(NODE_STAMP) lint-api-spec
	$(NODE_BIN)/spectral lint --ruleset tools/.spectral.yaml --fail-severity warn $(API_SPECS)

# Types for each document, then tools/typecheck/usage.ts compiled against each: its
# "meditrack-api" import resolves through --baseUrl. openapi-typescript runs from the
# top of the checkout, where no redocly.yaml is, so it applies Redocly's `minimal` rules
# and leaves the linting to the targets above.
lint-api-types: $(NODE_STAMP) lint-api-spec
	@mkdir -p $(API_BUILD)/committed
	$(NODE_BIN)/openapi-typescript docs/openapi.json --output $(API_BUILD)/committed/meditrack-api.ts
	$(NODE_BIN)/openapi-typescript $(API_BUILD)/fresh/openapi.json --output $(API_BUILD)/fresh/meditrack-api.ts
	@status=0; for spec in committed fresh; do \
		echo "$(NODE_BIN)/tsc $(TSC_FLAGS) --baseUrl $(API_BUILD)/$$spec tools/typecheck/usage.ts"; \
		$(NODE_BIN)/tsc $(TSC_FLAGS) --baseUrl $(API_BUILD)/$$spec tools/typecheck/usage.ts || status=1; \
	done; exit $$status

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Benchmarks (bench/README.md): build or reuse a PostgreSQL database, serve the app with
# gunicorn, drive it with wrk. Extra options in BENCH_ARGS, e.g.
# make bench BENCH_ARGS="--patients 1000000 --compare 10000".
bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: install
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)

# The collection is built from the spec, so it is rebuilt with it.
openapi: install
	$(BIN)/python scripts/export_openapi.py > docs/openapi.json
	$(BIN)/python scripts/build_collection.py

erd: install
	$(BIN)/python scripts/erd.py --write DATABASE.md

# The Postman/Insomnia collection (docs/meditrack.postman_collection.json), built from
# docs/openapi.json; collection-test runs it with newman against a fresh demo hospital
# (SQLite in a temporary directory, a free port). Needs Node: newman is in tools/.
collection: install
	$(BIN)/python scripts/build_collection.py

collection-test: install $(NODE_STAMP)
	$(BIN)/python scripts/run_collection.py

# The API reference as one static HTML page (Redoc, scripts inlined: it opens from disk,
# offline), built from the committed document. Needs Node: Redocly is in tools/.
docs: $(NODE_STAMP)
	@mkdir -p $(API_BUILD)
	REDOCLY_TELEMETRY=off $(NODE_BIN)/redocly build-docs docs/openapi.json \
		--output $(API_BUILD)/reference.html
	@echo "The reference: $(API_BUILD)/reference.html"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(API_BUILD) $(NODE_TOOLS)
