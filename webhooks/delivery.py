"""Delivering events: one signed POST per attempt, retries with backoff, the sweep, and disabling.

A delivery is claimed before each attempt (a conditional UPDATE with a lease longer than the
request's timeout), so a task that runs twice, or the sweep and a late task, never send one attempt
twice. Every attempt of one event to one endpoint carries the same `webhook-id` (Standard
Webhooks), so a receiver can drop a repeat. A failed attempt sets the next due time from BACKOFF;
the one-minute sweep queues it then. After the last, the delivery is failed. An endpoint whose
attempts fail WEBHOOK_DISABLE_AFTER times in a row is disabled and the admins are told.
"""

import datetime
import json
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.models import User
from accounts.notification_emails import notification_emails_send
from accounts.services import notification_create
from config.celery import BROKER_ERRORS, BrokerUnavailable
from webhooks import transport
from webhooks.guard import UrlRefused
from webhooks.models import Attempt, Delivery, Endpoint
from webhooks.slack import slack_message
from webhooks.tasks import delivery_send_task

logger = logging.getLogger(__name__)

# The wait after each failed attempt: 7 attempts over about 21 hours, then the delivery is failed.
BACKOFF = [
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=6),
    datetime.timedelta(hours=12),
]
MAX_ATTEMPTS = len(BACKOFF) + 1
# Longer than one attempt takes (the timeout applies to connecting and to each read): a worker that died
# mid-attempt leaves its claim, and the sweep tries again once it has run out.
CLAIM_LEASE = datetime.timedelta(minutes=5)
# A first attempt is queued on commit; the sweep takes it over once it has waited this long.
FIRST_ATTEMPT_GRACE = datetime.timedelta(minutes=1)
# How long a task the sweep queued has before the sweep queues it again.
QUEUED_LEASE = datetime.timedelta(minutes=10)
SWEEP_BATCH = 500
USER_AGENT = "Pulse-Webhooks/1.0"


def request_for(delivery: Delivery, *, now: datetime.datetime) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt: Slack's message, or the event signed per Standard Webhooks."""
    endpoint, event = delivery.endpoint, delivery.event
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if endpoint.kind == Endpoint.Kind.SLACK:
        return json.dumps(slack_message(event.payload)).encode(), headers
    body = json.dumps(event.payload, separators=(",", ":"))
    sent_at = now.astimezone(datetime.UTC)
    headers |= {
        "webhook-id": event.message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(event.message_id, sent_at, body),
    }
    return body.encode(), headers


def _claim(delivery_id: int, now: datetime.datetime) -> Delivery | None:
    # Only the delivery's own columns in the condition: one through a join makes Django write
    # `id IN (SELECT …)`, which PostgreSQL does not re-check after a lock wait (two claims could win).
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_LEASE)
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    if not delivery.endpoint.is_active:  # disabled meanwhile: let the claim go, nothing is sent
        Delivery.objects.filter(pk=delivery_id, claimed_until=now + CLAIM_LEASE).update(claimed_until=None)
        return None
    return delivery


def delivery_attempt(*, delivery_id: int) -> Attempt | None:
    """Make one attempt of a delivery if it is due and nobody else is making it; returns the attempt logged."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    body, headers = request_for(delivery, now=now)
    started = time.monotonic()
    status_code, response_start, error = None, "", ""
    try:
        answer = transport.post(
            delivery.endpoint.url, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS
        )
        status_code, response_start = answer.status, answer.body_start
    except UrlRefused as exc:
        error = str(exc)
    except Exception as exc:  # any network failure (refused, reset, timeout, TLS) is this attempt's outcome
        error = f"{type(exc).__name__}: {exc}"
    ok = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not ok:
        error = f"HTTP {status_code}"
    duration_ms = round((time.monotonic() - started) * 1000)
    return _attempt_record(delivery, now, ok, status_code, duration_ms, response_start, error)


def _attempt_record(delivery, now, ok, status_code, duration_ms, response_start, error) -> Attempt:
    attempts = delivery.attempts + 1
    with transaction.atomic():
        attempt = Attempt.objects.create(
            delivery=delivery,
            started_at=now,
            duration_ms=duration_ms,
            status_code=status_code,
            ok=ok,
            response_start=response_start,
            error=error[:300],
        )
        done = timezone.now()
        if ok:
            status, next_at = Delivery.Status.DELIVERED, delivery.next_attempt_at
        elif attempts >= MAX_ATTEMPTS:
            status, next_at = Delivery.Status.FAILED, delivery.next_attempt_at
        else:
            status, next_at = Delivery.Status.PENDING, done + BACKOFF[attempts - 1]
        Delivery.objects.filter(pk=delivery.pk).update(
            status=status,
            attempts=attempts,
            next_attempt_at=next_at,
            claimed_until=None,
            queued_until=None,
            delivered_at=done if ok else None,
        )
        endpoint = delivery.endpoint
        if ok:
            Endpoint.objects.filter(pk=endpoint.pk, consecutive_failures__gt=0).update(consecutive_failures=0)
        else:
            logger.warning("webhook delivery %s to endpoint %s failed: %s", delivery.pk, endpoint.pk, error)
            Endpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    if not ok:
        failures = Endpoint.objects.values_list("consecutive_failures", flat=True).get(pk=endpoint.pk)
        if failures >= settings.WEBHOOK_DISABLE_AFTER:
            endpoint_disable(endpoint=endpoint, reason=f"{failures} failed attempts in a row; the last: {error}")
    return attempt


def endpoint_disable(*, endpoint: Endpoint, reason: str) -> bool:
    """Disable an active endpoint and tell every active admin, in the app and by email; returns
    whether it was active (a conditional UPDATE: two failing workers disable it and notify once)."""
    now = timezone.now()
    with transaction.atomic():
        disabled = Endpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False, disabled_at=now, disabled_reason=reason[:300]
        )
        if not disabled:
            return False
        title = f"Webhook endpoint {endpoint.name} disabled"
        link = settings.SITE_URL + endpoint.get_absolute_url()
        body = render_to_string(
            "webhooks/email/endpoint_disabled.txt", {"endpoint": endpoint, "reason": reason, "link": link}
        )
        notifications = [
            notification_create(
                user=admin,
                key=f"webhook-disabled:{endpoint.pk}:{int(now.timestamp())}",
                title=title,
                body=reason,
                url=endpoint.get_absolute_url(),
                email_subject=title,
                email_body=body,
            )
            for admin in User.objects.filter(role=User.Role.ADMIN, is_active=True)
        ]
    notification_emails_send(notifications=[notification for notification in notifications if notification])
    return True


def deliveries_due(*, now: datetime.datetime):
    """Pending deliveries of active endpoints that are due, unclaimed and not queued by a recent sweep:
    retries, and first attempts older than FIRST_ATTEMPT_GRACE (their task was lost or never queued)."""
    return (
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__is_active=True)
        .filter(Q(attempts__gt=0) | Q(created_at__lte=now - FIRST_ATTEMPT_GRACE))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(queued_until__isnull=True) | Q(queued_until__lt=now))
    )


def deliveries_sweep() -> int:
    """Queue the due deliveries (at most SWEEP_BATCH a run, oldest first); returns how many were queued."""
    now = timezone.now()
    ids = list(deliveries_due(now=now).order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    if not ids:
        return 0
    Delivery.objects.filter(pk__in=ids).update(queued_until=now + QUEUED_LEASE)
    return deliveries_queue(delivery_ids=ids)


def deliveries_queue(*, delivery_ids: list[int]) -> int:
    """Queue one task per delivery; at the first the broker refuses, stop (the sweep queues the rest).
    Returns how many were queued."""
    for queued, delivery_id in enumerate(delivery_ids):
        try:
            delivery_send_task.delay(delivery_id)
        except (BrokerUnavailable, *BROKER_ERRORS):  # the broker refused, did not answer, or its breaker is open
            logger.warning(
                "webhooks: could not queue %s deliveries (broker down?); the sweep sends them",
                len(delivery_ids) - queued,
                exc_info=True,
            )
            return queued
    return len(delivery_ids)
