from django.conf import settings

from accounts.outbox import outbox_enabled

# Which navigation entry a page belongs to, by URL name.
SECTIONS = {
    "accounts:import": "import",
    "accounts:import_detail": "import",
    "accounts:metrics": "metrics",
    "accounts:metric_import": "metrics",
    "accounts:tokens": "tokens",
    "accounts:outbox": "outbox",
    "accounts:outbox_message": "outbox",
}


def product(request):
    """The product name lives in one setting so it can change in one place."""
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match else ""
    return {
        "PRODUCT_NAME": settings.PRODUCT_NAME,
        "outbox_enabled": outbox_enabled(),
        "nav": SECTIONS.get(view_name, "accounts" if view_name.startswith("accounts:") else ""),
    }
