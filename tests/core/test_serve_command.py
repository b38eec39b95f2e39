"""`manage.py serve`: the embedded worker and beat start once, in the process that serves, and only
without Redis; with Redis it is plain runserver."""

import contextlib

import pytest
from django.core.management import call_command
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from core.management.commands import serve


@pytest.fixture
def started(monkeypatch):
    """What serve did: 'embedded' when it entered the embedded block, then the runserver it called."""
    calls = []

    @contextlib.contextmanager
    def embedded_celery():
        calls.append("embedded")
        yield

    monkeypatch.setattr(serve, "embedded_celery", embedded_celery)
    monkeypatch.setattr(serve, "call_command", lambda name, **options: calls.append((name, options["use_reloader"])))
    monkeypatch.delenv(DJANGO_AUTORELOAD_ENV, raising=False)
    return calls


def test_without_reloader_the_one_process_runs_the_worker(settings, started):
    settings.EMBEDDED_WORKER = True
    call_command("serve", "127.0.0.1:8774", use_reloader=False)
    assert started == ["embedded", ("runserver", False)]


def test_with_reloader_only_the_serving_child_runs_the_worker(settings, started, monkeypatch):
    settings.EMBEDDED_WORKER = True
    call_command("serve", "127.0.0.1:8774")
    assert started == [("runserver", True)]  # the file watcher restarts children; it serves nothing
    monkeypatch.setenv(DJANGO_AUTORELOAD_ENV, "true")
    call_command("serve", "127.0.0.1:8774")
    assert started[1:] == ["embedded", ("runserver", True)]


def test_with_redis_nothing_embedded_starts(settings, started):
    settings.EMBEDDED_WORKER = False
    call_command("serve", "127.0.0.1:8774", use_reloader=False)
    assert started == [("runserver", False)]
