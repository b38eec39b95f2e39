"""The transactional outbox: events are written in the caller's transaction, with one delivery per endpoint.

`event_record` / `events_record` are what other apps call, inside the transaction of the change that
causes the event: if it rolls back, no event exists; once it commits, the deliveries are rows, so
they go out even when the broker is down then (the sweep in webhooks/delivery.py queues them later).
Nothing is written for an event type no active endpoint subscribes to.
"""

import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from webhooks.delivery import deliveries_queue
from webhooks.models import Delivery, Endpoint, Event, EventType


def account_data(account: Account) -> dict:
    """How an account appears in every payload."""
    return {
        "id": account.pk,
        "name": account.name,
        "external_id": account.external_id,
        "url": settings.SITE_URL + account.get_absolute_url(),
    }


def event_payload(*, type: str, account: Account | None, data: dict, at: datetime.datetime) -> dict:
    """The JSON body of an event: {"type", "timestamp", "data"}, the account first in the data."""
    return {
        "type": type,
        "timestamp": DjangoJSONEncoder().default(at),  # as every time in the data: "2026-03-10T09:00:00Z"
        "data": ({"account": account_data(account)} if account is not None else {}) | data,
    }


def event_record(*, type: str, data: dict, account: Account | None = None) -> None:
    """Record one event (see `events_record`)."""
    events_record(type=type, items=[(account, data)])


def events_record(*, type: str, items: list[tuple[Account | None, dict]], keys: list[str] | None = None) -> int:
    """Record one event per (account, data) item for every active endpoint subscribed to `type`.

    `keys`, one per item, names each occurrence: an item whose key an earlier event of this type has
    is skipped, so a pass that notices the same thing again (a recompute) sends it once.
    A constant number of queries whatever the number of items: the endpoints, (with keys) the keys
    seen, one INSERT of the events and one of the deliveries. The deliveries are queued after
    commit; returns how many events were written.
    """
    if type not in EventType.values:
        raise ValueError(f"unknown webhook event type {type!r}")
    if keys is not None and len(keys) != len(items):
        raise ValueError("events_record needs one key per item")
    if not items:
        return 0
    endpoints = [endpoint for endpoint in Endpoint.objects.filter(is_active=True) if endpoint.receives(type)]
    if not endpoints:
        return 0
    keyed = list(zip(items, keys or [""] * len(items), strict=True))
    if keys is not None:
        seen = set(Event.objects.filter(type=type, key__in=keys).values_list("key", flat=True))
        keyed = [(item, key) for item, key in keyed if key not in seen]
        if not keyed:
            return 0
    now = timezone.now()
    events = Event.objects.bulk_create(
        [
            Event(
                type=type,
                account=account,
                key=key,
                created_at=now,
                payload=event_payload(type=type, account=account, data=data, at=now),
            )
            for (account, data), key in keyed
        ]
    )
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now)
            for event in events
            for endpoint in endpoints
        ]
    )
    delivery_ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: deliveries_queue(delivery_ids=delivery_ids), robust=True)
    return len(events)
