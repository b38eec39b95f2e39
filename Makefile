# The two commands: `make run` (the demo) and `make test` (the whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test lint bench worker beat

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py serve 127.0.0.1:$(PORT)

test: $(VENV)/.installed
	$(PY) -m pytest

# Builds the benchmark data set once in PostgreSQL (BENCH_DATABASE_URL, default pulse_bench on
# 127.0.0.1) and Redis (BENCH_REDIS_URL), measures, and writes BENCHMARKS.md. Not part of `make test`.
bench: $(VENV)/.installed
	$(PY) bench/run.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Production-like processes against REDIS_URL, for local trials (without REDIS_URL, `make run` has both
# in its own process).
worker: $(VENV)/.installed
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: $(VENV)/.installed
	$(VENV)/bin/celery -A config beat --loglevel=INFO
