# Two commands matter: `make run` and `make test`. Both create .venv and install the
# pinned requirements the first time, and again only when a requirements file changes.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000
HOST ?= 127.0.0.1
PYTEST_ARGS ?=

.PHONY: run test lint format bench bench-quick openapi erd install clean

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

openapi: install
	$(BIN)/python scripts/export_openapi.py > docs/openapi.json

erd: install
	$(BIN)/python scripts/erd.py --write DATABASE.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
