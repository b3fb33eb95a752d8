# Two commands: `make run` (quick start demo on SQLite) and `make test` (the whole suite).
# Both do their own set-up on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests use PostgreSQL when one answers (always in CI), else SQLite with PostgreSQL-only
# tests skipped. Override with `make test DATABASE_URL=...`.
PG_URL := postgres://postgres@127.0.0.1:5432/wuma
TEST_DATABASE_URL ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo $(PG_URL))

.PHONY: run test install lint bench clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py load_demo
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian chromium for browser tests..."; \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "WARNING: chromium could not be installed; browser tests will be skipped"; }

test: $(STAMP) chromium
	$(BIN)/ruff check .
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/import_master.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
