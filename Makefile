# The two commands: `make run` (the demo) and `make test` (the whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test lint worker beat

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Production-like processes against REDIS_URL, for local trials.
worker: $(VENV)/.installed
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: $(VENV)/.installed
	$(VENV)/bin/celery -A config beat --loglevel=INFO
