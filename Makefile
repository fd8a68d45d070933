# ProcDesk — every target creates .venv when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test test-postgres test-e2e lint bench i18n install serve clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/python -m webapp.i18n_tool compile

## Set everything up, migrate, load demo data into an empty database and serve on http://127.0.0.1:5000
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty
	$(BIN)/flask run --host $(HOST) --port $(PORT)

## Production-style server: gunicorn with several workers (set DATABASE_URL, SECRET_KEY, ENV=production)
serve: install
	$(BIN)/flask db upgrade
	$(BIN)/gunicorn --no-control-socket -w $${WORKERS:-4} -b $(HOST):$(PORT) wsgi:app

## Set up and run the whole suite (unit, integration and browser tests)
test: install
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || \
	  (echo "installing Debian's chromium for the browser tests" && (apt-get update -qq || true) && apt-get install -y -qq chromium >/dev/null)
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -p no:cacheprovider -n $${PYTEST_WORKERS:-2} $(PYTEST_ARGS)

## The same suite against PostgreSQL (127.0.0.1:5432, trust auth, database test)
test-postgres: install
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	  $(BIN)/pytest -q -p no:cacheprovider -n $${PYTEST_WORKERS:-2} $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

i18n: install
	$(BIN)/python -m webapp.i18n_tool update
	$(BIN)/python -m webapp.i18n_tool compile

bench: install
	@command -v wrk >/dev/null 2>&1 || \
	  (echo "installing wrk for the benchmarks" && (apt-get update -qq || true) && apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
