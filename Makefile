PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test setup lint bench

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

test: setup
	@test -x $(CHROMIUM) || echo "NOTE: no browser at $(CHROMIUM): the admin browser tests will be SKIPPED (apt-get install chromium)."
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .

bench: setup
	$(PY) bench/ingest.py
	$(PY) bench/segments.py
	$(PY) bench/flows.py
	$(PY) bench/broadcast.py
	$(PY) bench/send.py
	$(PY) bench/reports.py
