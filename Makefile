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
# The scan benchmarks make (and drop) their own databases on this server.
BENCH_DATABASE_URL ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo postgres://postgres@127.0.0.1:5432/postgres)

.PHONY: run test install lint bench bench-1m bench-recon clean system-deps deploy-check messages makemessages screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP) messages
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py load_demo
	@# No platform address: the bundled platform double (INSURANCE_PLATFORM_URL in the README).
	@if [ -z "$$INSURANCE_PLATFORM_URL" ]; then \
		DJANGO_DEBUG=1 $(BIN)/python manage.py platform_double & double=$$!; \
		trap "kill $$double 2>/dev/null" EXIT; \
	fi; \
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

# Debian packages the tests need: Chromium for the browser tests, libzbar for pyzbar.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium chromium-driver"; \
	ldconfig -p 2>/dev/null | grep -q libzbar || missing="$$missing libzbar0"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  (apt-get update -qq && apt-get install -y -qq $$missing >/dev/null) \
	  || echo "WARNING: could not install$$missing (browser/decoder tests will be skipped outside CI)"; \
	fi

test: $(STAMP) system-deps messages
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory deploy-check
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

# The README's screenshots (docs/screenshots/), taken by the browser tests in the states
# they check; a plain test run writes them to a temporary folder instead.
screenshots: $(STAMP) system-deps messages
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots DATABASE_URL=$(TEST_DATABASE_URL) \
	  $(BIN)/python -m pytest -q tests/browser/test_bedside.py tests/browser/test_bedside_scanner.py \
	  tests/browser/test_finance.py

# locale/*/LC_MESSAGES/*.po -> .mo (built, never committed) with GNU gettext's msgfmt,
# from Debian's gettext when it is missing.
messages: $(STAMP)
	@command -v msgfmt >/dev/null || { echo "Installing Debian package: gettext"; \
	  (apt-get update -qq && apt-get install -y -qq gettext >/dev/null) \
	  || echo "WARNING: could not install gettext: the English messages cannot be compiled"; }
	DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages --ignore='.venv/*' --verbosity 0

# After changing interface text: gather the msgids into the .po files (needs xgettext, in
# Debian's gettext), translate the new entries, then `make messages`.
MESSAGE_SOURCES_IGNORED := --ignore='.venv/*' --ignore='tests/*' --ignore='bench/*' \
	--ignore='staticfiles/*' --ignore='docs/*' --ignore='*.egg-info/*'
makemessages: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemessages -l en -d django --add-location=file \
	  $(MESSAGE_SOURCES_IGNORED) --ignore='static/*'
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemessages -l en -d djangojs --add-location=file \
	  $(MESSAGE_SOURCES_IGNORED)

# Production settings must pass Django's deployment checklist.
deploy-check: $(STAMP)
	DJANGO_SECRET_KEY=deploy-check-$$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n') \
	DJANGO_ALLOWED_HOSTS=haocai.example.cn DATABASE_URL=sqlite:////tmp/wuma-deploy-check.db \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/import_master.py
	@if [ -n "$(BENCH_DATABASE_URL)" ]; then \
	  DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/scans.py --sizes 10000,100000 --repeat 20 && \
	  DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/use_throughput.py --seconds 5 --moves 10000 && \
	  DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/reconciliation.py --sizes 200000,1000000 --repeat 3; \
	else echo "PostgreSQL not answering on 127.0.0.1:5432: scan benchmarks skipped"; fi

# The scan benchmark at the sizes of issue 3's acceptance: 10,000 and 1,000,000 moves.
bench-1m: $(STAMP)
	DATABASE_URL=$(or $(BENCH_DATABASE_URL),$(error PostgreSQL is needed)) $(BIN)/python bench/scans.py

# The reconciliation benchmark at issue 5's sizes: one day of 50,000 uses on 1M and 10M moves
# (about 25 minutes, 12 GB of throwaway databases, dropped afterwards).
bench-recon: $(STAMP)
	DATABASE_URL=$(or $(BENCH_DATABASE_URL),$(error PostgreSQL is needed)) $(BIN)/python bench/reconciliation.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
