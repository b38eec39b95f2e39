"""The per-process circuit breaker: after one Redis failure, the cache and publishing skip Redis at once
for a few seconds (failing as they would with Redis down), then try it again."""

import socket
import time

import pytest
import redis
from celery.app.task import Task
from django.core.cache.backends.redis import RedisCache

from config import circuit_breaker
from config.celery import BrokerUnavailable
from config.circuit_breaker import redis_breaker
from surveys.tasks import response_recorded_task


@pytest.fixture(autouse=True)
def _closed_breakers():
    redis_breaker.reset()
    yield
    redis_breaker.reset()


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL where nothing listens (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def clock(monkeypatch):
    """The breaker's monotonic clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(circuit_breaker.time, "monotonic", lambda: now[0])
    return now


def _cache(url: str) -> RedisCache:
    options = {"pool_class": "config.circuit_breaker.BreakerConnectionPool", "socket_connect_timeout": 0.25}
    return RedisCache(url, {"OPTIONS": options})


def test_breaker_opens_for_its_interval_then_lets_the_next_try_through(clock):
    breaker = circuit_breaker.CircuitBreaker("test", open_seconds=5)
    assert not breaker.is_open()
    breaker.trip()
    clock[0] += 4.9
    assert breaker.is_open()
    clock[0] += 0.2
    assert not breaker.is_open()


def test_cache_failure_opens_the_breaker_and_the_next_call_does_not_connect(dead_redis_url, monkeypatch):
    cache = _cache(dead_redis_url)
    with pytest.raises(redis.ConnectionError):
        cache.get("key")
    assert redis_breaker.is_open()

    def never(*args, **kwargs):
        raise AssertionError("connected while the breaker is open")

    monkeypatch.setattr(redis.Connection, "connect", never)
    with pytest.raises(redis.ConnectionError, match="skipped for a few seconds"):
        cache.incr("counter")


def test_rate_limit_fails_open_with_the_breaker_open(settings, dead_redis_url):
    from accounts.ratelimit import hit

    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.RedisCache",
            "LOCATION": dead_redis_url,
            "OPTIONS": {"pool_class": "config.circuit_breaker.BreakerConnectionPool"},
        }
    }
    redis_breaker.trip()
    assert hit(scope="test", client="127.0.0.1", limit=1)[0] is True


@pytest.fixture
def publishing(settings, monkeypatch):
    """Tasks published for real (not run in-process), to a broker whose every publish fails."""
    app = response_recorded_task.app
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    attempts = []

    def refused(self, *args, **kwargs):
        attempts.append(self.name)
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(Task, "apply_async", refused)
    return attempts


def test_publish_failure_opens_the_breaker_and_the_next_publish_is_skipped(publishing):
    with pytest.raises(ConnectionRefusedError):
        response_recorded_task.delay(1)
    with pytest.raises(BrokerUnavailable):
        response_recorded_task.delay(2)
    assert publishing == ["surveys.tasks.response_recorded_task"]  # the second never reached the broker


def test_a_cache_failure_spares_the_same_request_a_publish_wait(publishing, dead_redis_url):
    with pytest.raises(redis.ConnectionError):
        _cache(dead_redis_url).get("key")  # one Redis is cache and broker: it failed for both
    with pytest.raises(BrokerUnavailable):
        response_recorded_task.delay(1)
    assert publishing == []


def test_worker_publishes_are_not_skipped_by_the_breaker(publishing, monkeypatch):
    monkeypatch.setitem(response_recorded_task.app.conf, "publish_breaker", False)
    for response_id in (1, 2):
        with pytest.raises(ConnectionRefusedError):
            response_recorded_task.delay(response_id)
    assert len(publishing) == 2


def test_a_publish_refused_for_its_arguments_does_not_open_the_breaker(publishing, monkeypatch):
    def unserialisable(self, *args, **kwargs):
        raise TypeError("Object of type set is not JSON serializable")

    monkeypatch.setattr(Task, "apply_async", unserialisable)
    with pytest.raises(TypeError):
        response_recorded_task.delay({1})
    assert not redis_breaker.is_open()  # a bug in a caller must not switch off the cache and rate limits


def test_a_task_failing_in_process_does_not_open_the_breaker(monkeypatch):
    monkeypatch.setattr("surveys.follow_up.responses_follow_up", lambda **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        response_recorded_task.delay(1)  # in-process (no REDIS_URL): the task's own error
    assert not redis_breaker.is_open()


def test_healthz_reports_a_dead_broker_quickly_with_status_from_the_database(client, db, settings, dead_redis_url):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = dead_redis_url
    started = time.monotonic()
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok", "broker": "unavailable"})
    assert redis_breaker.is_open()
    assert time.monotonic() - started < 1


def test_healthz_with_the_breaker_open_does_not_try_the_broker(client, db, settings, monkeypatch):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    monkeypatch.setattr(redis.Redis, "ping", lambda self: pytest.fail("pinged while the breaker is open"))
    redis_breaker.trip()
    assert client.get("/healthz").json()["broker"] == "unavailable"
