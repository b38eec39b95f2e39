"""The login lockout's counters live in Redis when REDIS_URL is set: every web process sees a lockout."""

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from accounts import lockout

pytestmark = pytest.mark.integration

LOCKED = "Too many failed attempts to log in with this email. Please wait 15 minutes before trying again."


def test_a_lockout_is_seen_by_another_cache_client_and_expires_in_redis(
    redis_url, client, alice, password, settings, monkeypatch
):
    settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_MINUTES = 2, 15
    assert isinstance(caches["default"], RedisCache)
    for _ in range(2):
        client.post("/login/", {"username": "alice@pulse.test", "password": "not the password"})

    # Another web process: a cache client of its own, with its own connections to the same Redis.
    other_process = caches.create_connection("default")
    monkeypatch.setattr(lockout, "cache", other_process)
    try:
        response = client.post("/login/", {"username": "alice@pulse.test", "password": password})
    finally:
        other_process.close()

    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session
    server = redis.Redis.from_url(redis_url)
    try:
        keys = list(server.scan_iter(match="*login-locked:*"))
        assert len(keys) == 2  # one for the address typed, one for the user it resolves to
        for key in keys:
            assert 0 < server.ttl(key) <= 15 * 60  # Redis forgets the lockout by itself
            assert b"alice" not in key  # a hash of the email, or the user's id
    finally:
        server.close()
