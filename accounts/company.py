"""The company name surveys ask about: the admins' choice in the app, else the COMPANY_NAME setting.

PRODUCT_NAME is the app's own name; this is the name of the company whose customers answer.
Read on every survey email, so it is cached (shared by web and worker when the cache is Redis).
"""

from django.conf import settings
from django.core.cache import cache

from accounts.models import CompanySettings

CACHE_KEY = "company-name"
CACHE_SECONDS = 60  # a process with its own local cache sees a change within a minute


def company_name() -> str:
    name = _cache_call(cache.get, CACHE_KEY)
    if name is None:
        stored = CompanySettings.objects.values_list("company_name", flat=True).first()
        name = stored or settings.COMPANY_NAME
        _cache_call(cache.set, CACHE_KEY, name, CACHE_SECONDS)
    return name


def _cache_call(method, *args):
    """The cache is a shortcut here: when it is down, the database answers."""
    try:
        return method(*args)
    except Exception:  # any cache backend error: redis, network
        return None


def company_settings() -> CompanySettings:
    """The one settings row, created empty the first time."""
    row = CompanySettings.objects.order_by("pk").first()
    return row or CompanySettings.objects.create()


def company_name_forget() -> None:
    _cache_call(cache.delete, CACHE_KEY)
