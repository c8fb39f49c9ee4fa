# ASM Credit — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/asmcredit
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: demo test install lint typecheck migrate seed serve clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# npm ci installs the pinned front-end packages: htmx (copied to static/vendor/, committed) and the test
# tools that stay in node_modules/ (axe-core, for tests/web/test_it_is_accessible.py).
static/vendor/.stamp: package.json package-lock.json
	@if [ -f package.json ]; then npm ci --no-audit --no-fund --silent && node scripts/vendor-assets.mjs; fi
	@mkdir -p static/vendor && touch static/vendor/.stamp

# Runs the product on SQLite with tasks in-process, with demo data, on http://127.0.0.1:8000
demo: install
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py compilemessages --ignore '.venv' -v0 || true
	DEBUG=true $(PY) manage.py seed_demo
	DEBUG=true $(PY) manage.py runserver 127.0.0.1:8000

# Runs the whole suite against PostgreSQL and Redis on localhost.
test: install static/vendor/.stamp
	DEBUG=false SECRET_KEY=test-only-secret-key-not-for-production ALLOWED_HOSTS=localhost,127.0.0.1,testserver \
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
	$(PY) -m pytest $(PYTEST_ARGS)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	DEBUG=true $(VENV)/bin/mypy .

clean:
	rm -rf $(VENV) demo.sqlite3 staticfiles
