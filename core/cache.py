"""The cache for figures a page can always compute itself: a cache that fails (Redis down or hung) costs
the page time, never an error."""

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def kept(key: str):
    """The cached value of `key` (None without a key, or when the cache cannot say: the page computes it)."""
    if not key:
        return None
    try:
        return cache.get(key)
    except Exception:  # any cache backend error: the page must not fail for it
        logger.warning("cache unavailable; computing the figures", exc_info=True)
        return None


def keep(key: str, value, seconds: int) -> None:
    """Keep `value` under `key` for `seconds` (nothing without a key); a failing cache is logged, not raised."""
    if not key:
        return
    try:
        cache.set(key, value, seconds)
    except Exception:  # the next request computes it again
        logger.warning("cache unavailable; figures not kept", exc_info=True)
