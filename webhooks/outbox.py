"""The transactional outbox: events are written in the caller's transaction, with one delivery per endpoint.

`event_record` / `events_record` are what other apps call, inside the transaction of the change that
causes the event: if it rolls back, no event exists; once it commits, the deliveries are rows, so
they go out even when the broker is down then (the sweep in webhooks/delivery.py queues them later).
Nothing is written for an event type no active endpoint subscribes to.
"""

from django.conf import settings
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


def event_record(*, type: str, data: dict, account: Account | None = None) -> None:
    """Record one event (see `events_record`)."""
    events_record(type=type, items=[(account, data)])


def events_record(*, type: str, items: list[tuple[Account | None, dict]]) -> int:
    """Record one event per (account, data) item for every active endpoint subscribed to `type`.

    Three queries whatever the number of items: the endpoints, one INSERT of the events, one of the
    deliveries. The deliveries are queued after commit; returns how many events were written.
    """
    if type not in EventType.values:
        raise ValueError(f"unknown webhook event type {type!r}")
    if not items:
        return 0
    endpoints = [endpoint for endpoint in Endpoint.objects.filter(is_active=True) if endpoint.receives(type)]
    if not endpoints:
        return 0
    now = timezone.now()
    events = Event.objects.bulk_create(
        [
            Event(
                type=type,
                account=account,
                created_at=now,
                payload={
                    "type": type,
                    "timestamp": now.isoformat(),
                    "data": ({"account": account_data(account)} if account is not None else {}) | data,
                },
            )
            for account, data in items
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
