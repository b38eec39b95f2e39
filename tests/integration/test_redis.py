"""Django's cache is Redis when REDIS_URL is set: values live in the server, not in the process."""

import os
import pickle
import uuid

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

pytestmark = pytest.mark.integration


@pytest.fixture
def cache(redis_url):
    return caches["default"]


@pytest.fixture
def cache_key(cache):
    key = f"pulse-test-{uuid.uuid4().hex}"
    yield key
    cache.delete(key)


def test_cache_is_redis_when_redis_url_is_set(cache):
    assert isinstance(cache, RedisCache)


def test_cached_value_is_stored_in_redis(redis_url, cache, cache_key):
    value = {"account": "CRM-ACME", "health": 72}

    cache.set(cache_key, value, timeout=60)

    client = redis.Redis.from_url(redis_url)
    try:
        raw_key = cache.make_and_validate_key(cache_key)
        assert pickle.loads(client.get(raw_key)) == value
        assert 0 < client.ttl(raw_key) <= 60
    finally:
        client.close()


def test_cached_value_is_read_back_through_a_fresh_connection(cache, cache_key):
    cache.set(cache_key, ["renewal", 2025], timeout=60)

    fresh = caches.create_connection("default")
    try:
        assert fresh is not cache
        assert fresh.get(cache_key) == ["renewal", 2025]
        fresh.delete(cache_key)
        assert cache.get(cache_key) is None
    finally:
        fresh.close()


def test_every_call_of_a_thread_uses_one_client_and_a_forked_worker_gets_fresh_connections(cache, cache_key):
    client = cache._cache.get_client(cache_key, write=True)
    cache.set(cache_key, 1, timeout=60)
    assert cache.incr(cache_key) == 2
    assert cache._cache.get_client(cache_key) is client  # not rebuilt per call (config/redis_cache.py)

    # The client holds no connection: the pool lends one per command, and a forked child opens its own.
    pool = client.connection_pool
    assert client.connection is None
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's result comes back through the pipe)
        try:
            os.write(write, str(cache.get(cache_key)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    assert os.read(read, 16) == b"2"
    os.close(read)
    assert pool.pid == os.getpid()
