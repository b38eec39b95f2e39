# The two commands: `make run` (the demo) and `make test` (the whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test lint bench worker beat

# Two stamps: `make run` installs only what running needs; `make test` (and lint, bench) add the test
# tools on top, so after `make run` only the rest is installed. pip shows its progress as it goes.
$(VENV)/.installed-run: requirements.txt
	@echo "==> Installing what running needs into $(VENV) (requirements.txt)"
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --progress-bar on -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-run requirements-dev.txt
	@echo "==> Installing the test tools into $(VENV) (requirements-dev.txt)"
	$(VENV)/bin/pip install --progress-bar on -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed-dev
	$(PY) -m pytest

# Builds the benchmark data set once in PostgreSQL (BENCH_DATABASE_URL, default pulse_bench on
# 127.0.0.1) and Redis (BENCH_REDIS_URL), measures, and writes BENCHMARKS.md. Not part of `make test`.
bench: $(VENV)/.installed-dev
	$(PY) bench/run.py

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Production-like processes against REDIS_URL, for local trials.
worker: $(VENV)/.installed-run
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: $(VENV)/.installed-run
	$(VENV)/bin/celery -A config beat --loglevel=INFO
