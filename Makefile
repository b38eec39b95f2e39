# The two commands: `make run` (the demo) and `make test` (the whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test lint bench bench-fresh-clone worker beat

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
	$(PY) manage.py serve 127.0.0.1:$(PORT)

# The suite in TEST_WORKERS parallel processes (pytest-xdist: a test database and a Redis database
# each), then tests/integration on its own: its real workers, servers and fault injection share
# queues and time budgets, so it runs serially. Skip reasons are printed (-rs).
TEST_WORKERS ?= 2

test: $(VENV)/.installed-dev
	status=0; \
	$(PY) -m pytest -rs -n $(TEST_WORKERS) --ignore=tests/integration || status=$$?; \
	$(PY) -m pytest -rs tests/integration || status=$$?; \
	exit $$status

# Builds the benchmark data set once in PostgreSQL (BENCH_DATABASE_URL, default pulse_bench on
# 127.0.0.1) and Redis (BENCH_REDIS_URL), measures, and writes BENCHMARKS.md. Not part of `make test`.
# BENCH_SCALE=10 make bench: ten times the data, in pulse_bench_x10.
bench: $(VENV)/.installed-dev
	$(PY) bench/run.py

# A newcomer's wait: clone the committed tree to a temporary folder, time `make run` until its first
# page answers and then `make test` (with this shell's DATABASE_URL / REDIS_URL), record both in BENCHMARKS.md.
bench-fresh-clone:
	python3 bench/fresh_clone.py

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Production-like processes against REDIS_URL, for local trials (without REDIS_URL, `make run` has both
# in its own process).
worker: $(VENV)/.installed-run
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: $(VENV)/.installed-run
	$(VENV)/bin/celery -A config beat --loglevel=INFO
