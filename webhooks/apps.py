from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks and Slack: an outbox of events written with the change, delivered by Celery."""

    name = "webhooks"
    verbose_name = "Webhooks"
