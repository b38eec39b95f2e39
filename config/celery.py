"""Celery application: settings come from Django settings prefixed CELERY_."""

import os

from celery import Celery
from celery.signals import worker_init
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pulse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _wait_longer_for_the_database(**kwargs) -> None:
    """A task has nobody waiting on it: a worker waits out a longer database restart than a web request
    does, so a send that meets one records what it sent instead of failing (see config.postgresql)."""
    settings.DB_CONNECT_RETRY_SECONDS = settings.DB_WORKER_CONNECT_RETRY_SECONDS
