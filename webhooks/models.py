"""Webhook endpoints (admin-managed), the events of the outbox, and their deliveries with each attempt."""

import base64
import secrets
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse

from accounts.models import Account, User

SECRET_PREFIX = "whsec_"


class EventType(models.TextChoices):
    HEALTH_BAND_CHANGED = "health.band_changed", "Health band changed"
    HEALTH_DROPPED = "health.dropped", "Health dropped"
    RESPONSE_RECEIVED = "response.received", "Survey answer received"
    RESPONSE_LOW_SCORE = "response.low_score", "Low-score answer"
    TASK_CREATED = "task.created", "Task created"
    TASK_COMPLETED = "task.completed", "Task completed"
    CAMPAIGN_FINISHED = "campaign.finished", "Campaign finished"


def secret_generate() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class Endpoint(models.Model):
    """Where events go. Generic endpoints get the signed JSON of Standard Webhooks; Slack ones a message."""

    class Kind(models.TextChoices):
        GENERIC = "generic", "Generic JSON (Standard Webhooks, signed)"
        SLACK = "slack", "Slack incoming webhook"

    name = models.CharField(max_length=100)
    url = models.URLField("URL", max_length=500)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GENERIC)
    event_types = models.JSONField(default=list, help_text="The EventType values this endpoint receives.")
    secret = models.CharField(max_length=100, default=secret_generate, editable=False)
    is_active = models.BooleanField(default=True)
    # Failed attempts in a row, over all its deliveries; a success resets it. At WEBHOOK_DISABLE_AFTER it is disabled.
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("webhooks:endpoint_deliveries", args=[self.pk])

    def receives(self, event_type: str) -> bool:
        return event_type in self.event_types


class Event(models.Model):
    """Something that happened, written in the same transaction as the change (the outbox).

    `payload` is the JSON body sent: {"type", "timestamp", "data"}; the message id of every
    delivery of it is `msg_<uuid>`.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    # Names the occurrence for events a pass may notice again (a drop from the same peak): one event per key.
    key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["type", "key"], name="event_key", condition=~models.Q(key=""))]

    def __str__(self):
        return f"{self.type} {self.uuid}"

    @property
    def message_id(self) -> str:
        return f"msg_{self.uuid.hex}"


class Delivery(models.Model):
    """One event to one endpoint: pending until a 2xx answer (delivered) or the last retry (failed)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Attempts in the current series (a "send again" starts a new one); it picks the next backoff delay.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A sender's claim: nobody else tries this delivery until then (longer than the request timeout).
    claimed_until = models.DateTimeField(null=True, blank=True)
    # The sweep queued a task for it until then: a busy queue does not get it twice a minute.
    queued_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint")]
        indexes = [
            # The sweep reads only pending deliveries, by due time.
            models.Index(fields=["next_attempt_at"], name="delivery_pending_due", condition=models.Q(status="pending")),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_log"),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint}"


class Attempt(models.Model):
    """One HTTP request of a delivery, as the log shows it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField()
    response_start = models.CharField(max_length=500, blank=True, help_text="The first 500 characters of the answer.")
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"{self.delivery_id} at {self.started_at}: {self.status_code or self.error}"
