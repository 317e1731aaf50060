PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM ?= /usr/bin/chromium

.PHONY: run serve test setup lint bench

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap
	$(PY) manage.py serve 127.0.0.1:8000

# Production's processes on this machine: gunicorn (gunicorn.conf.py) and a qcluster worker, DEBUG
# off, on PostgreSQL; plain HTTP on 127.0.0.1, so the HTTPS redirect and secure cookies are off.
serve: export DATABASE_URL ?= postgres://smsmarketing:smsmarketing@127.0.0.1:5432/smsmarketing
serve: export DEBUG = false
serve: export SECURE_SSL_REDIRECT = false
serve: export SESSION_COOKIE_SECURE = false
serve: export CSRF_COOKIE_SECURE = false
serve: setup
	@case "$$DATABASE_URL" in postgres*) ;; *) echo "make serve runs on PostgreSQL: DATABASE_URL=postgres://..." >&2; exit 2;; esac
	@test -s .secret-key || $(PY) -c "import secrets; print(secrets.token_urlsafe(48))" > .secret-key
	SECRET_KEY="$$(cat .secret-key)" $(PY) manage.py migrate --noinput
	SECRET_KEY="$$(cat .secret-key)" $(PY) manage.py collectstatic --noinput -v0
	SECRET_KEY="$$(cat .secret-key)" $(PY) manage.py bootstrap
	SECRET_KEY="$$(cat .secret-key)" $(PY) manage.py serve --production 127.0.0.1:8000

test: setup
	@test -x $(CHROMIUM) || echo "NOTE: no browser at $(CHROMIUM): the admin browser tests will be SKIPPED (apt-get install chromium)."
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .

# The goals are for PostgreSQL at the README's sizes (1M customers, ~10M events, 1M texts); on SQLite
# or a busy machine use smaller ones, e.g. `make bench BENCH_CUSTOMERS=100000 BENCH_TEXTS=100000`.
# The data of segments.py and pages.py is generated once and kept for the next run (--keep).
BENCH_CUSTOMERS ?= 1000000
BENCH_TEXTS ?= 1000000

bench: setup
	@case "$${DATABASE_URL:-}" in postgres*) ;; *) echo "NOTE: DATABASE_URL is not PostgreSQL: the figures are SQLite's and bench/workers.py is skipped.";; esac
	$(PY) bench/ingest.py
	$(PY) bench/segments.py --customers $(BENCH_CUSTOMERS) --repeat 3 --keep
	$(PY) bench/pages.py --customers $(BENCH_CUSTOMERS) --texts $(BENCH_TEXTS) --keep
	$(PY) bench/flows.py
	$(PY) bench/broadcast.py
	$(PY) bench/send.py
	@case "$${DATABASE_URL:-}" in postgres*) $(PY) bench/workers.py --latency-ms 20;; esac
	$(PY) bench/reports.py
