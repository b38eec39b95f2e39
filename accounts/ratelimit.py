"""A per-client, fixed-window rate limit on Django's cache, for the public survey pages and the login.

It lives in the lowest app so that both surveys (answer pages) and the login (config/urls.py)
can use it. Fixed windows are coarse (a client may make up to twice the limit across a window
edge) but need one counter per client and window, which works the same on local memory and Redis.
"""

import functools
import logging
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.shortcuts import render

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


def client_ip(request) -> str:
    """The address of the client: REMOTE_ADDR, or behind our proxy (BEHIND_TLS_PROXY) the address the
    proxy saw, which it appends as the last X-Forwarded-For entry (REMOTE_ADDR is then the proxy's own,
    the same for everyone). Never an earlier entry: those are whatever the client sent, and a limit
    keyed on a forgeable value limits nothing."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR") or "unknown"


def hit(*, scope: str, client: str, limit: int, window: int = WINDOW_SECONDS) -> tuple[bool, int]:
    """Count one request of `client` in `scope`; return (allowed, seconds until the window ends).

    Fails open: if the cache is down, the request is allowed (a rate limit must not take the page down).
    """
    now = time.time()
    window_start = int(now // window) * window
    retry_after = max(1, int(window_start + window - now))
    key = f"ratelimit:{scope}:{client}:{window_start}"
    try:
        count = _count(key, timeout=window + 1)
    except Exception:  # any cache backend error: redis, memcached, network
        logger.warning("rate limit cache unavailable; allowing the request", exc_info=True)
        return True, retry_after
    return count <= limit, retry_after


def _count(key: str, *, timeout: int) -> int:
    """Add one to the counter `key` (created with `timeout`) and return it.

    On Redis it is one INCR on the cache's own connection and key namespace, plus an EXPIRE for the
    window's first request (Django's add + incr take three round trips): the public answer page pays
    it on every request. Should the EXPIRE never run, the key names its window, so it is never counted
    again. Other caches (local memory in the demo) use add and incr.
    """
    backend = caches["default"]  # the backend itself: `cache` is a proxy to it
    if isinstance(backend, RedisCache):
        name = backend.make_and_validate_key(key)
        client = backend._cache.get_client(name, write=True)
        count = client.incr(name)
        if count == 1:
            client.expire(name, timeout)
        return count
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def rate_limit(scope: str, *, limit_setting: str, template: str, methods: tuple[str, ...] | None = None):
    """Decorate a view so one client (by IP) gets at most N requests a minute in `scope`.

    N is read from `settings.<limit_setting>` at request time. Only requests of `methods` count
    (all of them when None). Over the limit the view is not called: the client gets `template`,
    with a title and a message, as a 429 with a Retry-After header.

        @rate_limit("survey", limit_setting="SURVEY_RATE_LIMIT_PER_MINUTE", template="surveys/public_message.html")
        def answer(request, token): ...
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if methods is not None and request.method not in methods:
                return view(request, *args, **kwargs)
            limit = getattr(settings, limit_setting)
            allowed, retry_after = hit(scope=scope, client=client_ip(request), limit=limit)
            if not allowed:
                context = {
                    "title": "Too many requests",
                    "message": "You have sent a lot of requests in a short time. Please wait a minute and try again.",
                }
                response = render(request, template, context, status=429)
                response["Retry-After"] = str(retry_after)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
