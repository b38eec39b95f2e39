"""Django's cache is Redis when REDIS_URL is set: values live in the server, not in the process."""

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
