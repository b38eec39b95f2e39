"""Celery application: settings come from Django settings prefixed CELERY_.

Settings give publishing the budget of a web request (a broker that is down or hung costs a request at
most about a third of a second, then the breaker skips it for a few seconds); a worker or beat process,
where nobody waits on a publish, widens the budget when it starts (WORKER_PUBLISH_RETRY_POLICY).
"""

import os

import kombu.exceptions
import redis
from celery import Celery, Task
from celery.signals import beat_init, celeryd_init, worker_init
from django.conf import settings

from config.circuit_breaker import redis_breaker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# A worker or beat retries a publish for up to about 10 seconds, and waits up to 5 for a hung broker.
WORKER_PUBLISH_RETRY_POLICY = {"max_retries": 5, "interval_start": 0.5, "interval_step": 1, "interval_max": 3}
WORKER_SOCKET_TIMEOUT = 5


# What a broker that is down, hung or refusing raises through kombu and redis-py.
BROKER_ERRORS = (OSError, kombu.exceptions.OperationalError, redis.exceptions.RedisError)


class BrokerUnavailable(Exception):
    """The broker failed moments ago; the publish is skipped (what it owes is in the database)."""


class GuardedTask(Task):
    """A task whose publishing, in a web process, goes through the Redis circuit breaker."""

    def apply_async(self, *args, **kwargs):
        if self.app.conf.task_always_eager or not self.app.conf.get("publish_breaker", True):
            return super().apply_async(*args, **kwargs)
        if redis_breaker.is_open():
            raise BrokerUnavailable(f"{self.name} not queued: the broker failed moments ago")
        try:
            return super().apply_async(*args, **kwargs)
        except BROKER_ERRORS:  # not a bug in the task's arguments: that must not switch Redis off
            redis_breaker.trip()
            raise


app = Celery("pulse", task_cls=GuardedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
@beat_init.connect
def _widen_publish_budget(sender=None, **kwargs):
    """Workers and beat are not answering anyone: a longer publish retry, no breaker. The embedded ones
    (config/embedded.py) share their process with the web requests, and their broker is in memory: nothing
    to widen."""
    conf = app.conf
    if conf.broker_url.startswith("memory://"):
        return
    conf.task_publish_retry_policy = WORKER_PUBLISH_RETRY_POLICY
    options = {
        **conf.broker_transport_options,
        "socket_timeout": WORKER_SOCKET_TIMEOUT,
        "socket_connect_timeout": WORKER_SOCKET_TIMEOUT,
    }
    options.pop("max_retries", None)  # reconnecting to a restarted broker keeps trying, as Celery does by default
    conf.broker_transport_options = options
    conf.publish_breaker = False


@worker_init.connect
def _wait_longer_for_the_database(**kwargs) -> None:
    """A task has nobody waiting on it: a worker waits out a longer database restart than a web request
    does, so a send that meets one records what it sent instead of failing (see config.postgresql)."""
    settings.DB_CONNECT_RETRY_SECONDS = settings.DB_WORKER_CONNECT_RETRY_SECONDS
