"""A per-process circuit breaker for Redis, so a hung or stopped Redis costs one short timeout per
interval instead of one per request.

After a failure the breaker is open for OPEN_SECONDS: whoever asks skips Redis at once (and fails open,
as every cache caller and every publish on a request path already does), then the next use tries Redis
again. One Redis (REDIS_URL) is both the Django cache and the Celery broker, so one breaker serves both:
a rate limit that timed out on the cache spares the same request's publish a second wait. The cache
goes through it by `BreakerConnectionPool` (its connection pool), publishing by config/celery.py, and
/healthz's broker check by config/views.py.
"""

import contextlib
import threading
import time

import redis

OPEN_SECONDS = 5.0


class CircuitBreaker:
    def __init__(self, name: str, open_seconds: float = OPEN_SECONDS):
        self.name = name
        self.open_seconds = open_seconds
        self._open_until = 0.0
        self._lock = threading.Lock()

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        """Skip Redis for the next `open_seconds`."""
        with self._lock:
            self._open_until = time.monotonic() + self.open_seconds

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


redis_breaker = CircuitBreaker("redis")


@contextlib.contextmanager
def _tripped_on_failure():
    """A connection error or timeout inside opens the breaker (and is raised as it was)."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError):
        redis_breaker.trip()
        raise


class BreakerConnection(redis.Connection):
    """A redis-py connection that refuses at once while `redis_breaker` is open, and opens it on a
    connection error or timeout. Every command goes through connect() or send_packed_command(), and
    redis-py drops a connection that failed, so a hung Redis is waited on once per interval."""

    def connect(self, *args, **kwargs):
        self._refuse_if_open()
        with _tripped_on_failure():
            return super().connect(*args, **kwargs)

    def send_packed_command(self, *args, **kwargs):
        self._refuse_if_open()
        with _tripped_on_failure():
            return super().send_packed_command(*args, **kwargs)

    def read_response(self, *args, **kwargs):
        with _tripped_on_failure():
            return super().read_response(*args, **kwargs)

    @staticmethod
    def _refuse_if_open() -> None:
        if redis_breaker.is_open():
            raise redis.ConnectionError("Redis failed moments ago; skipped for a few seconds")


class BreakerConnectionPool(redis.ConnectionPool):
    """The cache's pool (CACHES OPTIONS pool_class): its connections are `BreakerConnection`s."""

    @classmethod
    def from_url(cls, url, **kwargs):
        return super().from_url(url, connection_class=BreakerConnection, **kwargs)
