"""Django's Redis cache, with one redis-py client per connection pool instead of a new one per call.

Django's RedisCacheClient builds a redis.Redis for every cache call, and that constructor (some 170
response callbacks) costs more than the round trip it is for: about a tenth of a millisecond, twice on
every public answer page (its rate limit and the company name). A client holds no connection of its own
(its pool lends one per command), so one client per pool serves every call; Django keeps one cache
object per thread, so no client is shared across threads.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
