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
    name = cache.get(CACHE_KEY)
    if name is None:
        stored = CompanySettings.objects.values_list("company_name", flat=True).first()
        name = stored or settings.COMPANY_NAME
        cache.set(CACHE_KEY, name, CACHE_SECONDS)
    return name


def company_settings() -> CompanySettings:
    """The one settings row, created empty the first time."""
    row = CompanySettings.objects.order_by("pk").first()
    return row or CompanySettings.objects.create()


def company_name_forget() -> None:
    cache.delete(CACHE_KEY)
