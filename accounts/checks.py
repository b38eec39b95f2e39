"""Deploy checks of our own, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Warning, register

from accounts.outbox import outbox_enabled


@register(deploy=True)
def email_is_delivered(app_configs, **kwargs):
    if outbox_enabled():
        return [
            Warning(
                "Email goes to the local outbox, not to people.",
                hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD) to send through SMTP.",
                id="pulse.W001",
            )
        ]
    return []


@register(deploy=True)
def site_url_is_public(app_configs, **kwargs):
    if settings.SITE_URL.startswith(("http://127.0.0.1", "http://localhost")):
        return [
            Warning(
                f"SITE_URL is {settings.SITE_URL}: links in emails would point to this machine.",
                hint="Set SITE_URL to the address people use, e.g. https://pulse.example.com.",
                id="pulse.W002",
            )
        ]
    return []
