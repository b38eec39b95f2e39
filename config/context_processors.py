from django.conf import settings
from django.utils.functional import SimpleLazyObject

from accounts.company import company_name
from accounts.outbox import outbox_enabled

# Which navigation entry a page belongs to, by URL name; the first matching prefix wins.
SECTIONS = [
    ("dashboards:portfolio", "portfolio"),
    ("accounts:import", "import"),
    ("renewals:renewal_import", "import"),
    ("accounts:metric", "metrics"),
    ("accounts:token", "tokens"),
    ("accounts:outbox", "outbox"),
    ("accounts:notifications", "notifications"),
    ("accounts:people", "people"),
    ("accounts:person", "people"),
    ("accounts:invite", "people"),
    ("accounts:accounts_reassign", "people"),
    ("accounts:team", "teams"),
    ("accounts:company", "company"),
    ("accounts:", "accounts"),
    ("scoring:account_health", "accounts"),
    ("scoring:override", "overrides"),
    ("scoring:model", "models"),
    ("surveys:feedback", "feedback"),
    ("surveys:results", "results"),
    ("surveys:answers_import", "results"),
    ("surveys:campaign", "campaigns"),
    ("surveys:survey", "surveys"),
    ("surveys:reply_template", "reply_templates"),
    ("dashboards:rollup", "team"),
    ("renewals:retention", "retention"),
    ("webhooks:", "webhooks"),
]

# The sections under the Setup menu (admins only).
SETUP_SECTIONS = {
    "people",
    "teams",
    "company",
    "campaigns",
    "surveys",
    "reply_templates",
    "models",
    "import",
    "metrics",
    "tokens",
    "webhooks",
    "outbox",
}


def product(request):
    """The product name lives in one setting so it can change in one place; the company name is the admins'."""
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match else ""
    nav = next((section for prefix, section in SECTIONS if view_name.startswith(prefix)), "")
    return {
        "PRODUCT_NAME": settings.PRODUCT_NAME,
        # Read only by the pages that show it, and once however often a page shows it (a cache round trip each).
        "COMPANY_NAME": SimpleLazyObject(company_name),
        "outbox_enabled": outbox_enabled(),
        "nav": nav,
        "nav_in_setup": nav in SETUP_SECTIONS,
    }
