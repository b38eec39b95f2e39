"""Pointing the test process's Celery app at another broker for one test."""

from config.celery import app as celery_app
from config.circuit_breaker import redis_breaker


def drop_connection_pools() -> None:
    # The app caches its broker connection pool; forget it so the next publish uses the broker_url set now.
    # (Not closed: kombu keeps one pool per URL and hands the same one out again.)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # And the breaker that remembers the old server's failures: the next use tries the server again.
    redis_breaker.reset()
