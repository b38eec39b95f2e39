"""Writes of webhooks the admin pages make: endpoints, and sending a delivery again."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from webhooks.delivery import deliveries_queue
from webhooks.models import Delivery, Endpoint, Event


class SendAgainRefused(Exception):
    """Why a delivery cannot be sent again now; the message is shown to the admin."""


def endpoint_create(*, name: str, url: str, kind: str, event_types: list[str], by: User | None) -> Endpoint:
    """A new active endpoint with a generated secret (shown to the admin once, on the next page)."""
    return Endpoint.objects.create(name=name, url=url, kind=kind, event_types=event_types, created_by=by)


def endpoint_update(
    *, endpoint: Endpoint, name: str, url: str, kind: str, event_types: list[str], is_active: bool
) -> Endpoint:
    """Change an endpoint. Enabling it again starts its failure count afresh; its waiting deliveries
    go out with the next sweep."""
    endpoint.name, endpoint.url, endpoint.kind, endpoint.event_types = name, url, kind, event_types
    fields = ["name", "url", "kind", "event_types"]
    if is_active != endpoint.is_active:
        endpoint.is_active = is_active
        endpoint.disabled_at = None if is_active else timezone.now()
        endpoint.disabled_reason = "" if is_active else "Disabled by an admin."
        endpoint.consecutive_failures = 0 if is_active else endpoint.consecutive_failures
        fields += ["is_active", "disabled_at", "disabled_reason", "consecutive_failures"]
    endpoint.save(update_fields=fields)
    return endpoint


def delivery_send_again(*, delivery: Delivery) -> None:
    """Start a new series of attempts for a delivery (the same webhook-id), the first one now."""
    if not delivery.endpoint.is_active:
        raise SendAgainRefused(f"{delivery.endpoint.name} is disabled: enable it first.")
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            claimed_until=None,
            queued_until=None,
        )
        if updated:
            delivery_id = delivery.pk
            transaction.on_commit(lambda: deliveries_queue(delivery_ids=[delivery_id]), robust=True)


def events_contact_erase(*, contact_id: int, name: str) -> int:
    """Take an erased contact out of the events about their answers: the name becomes `name`, the comment
    goes. Deliveries still to come send the scrubbed payload; returns how many events changed."""
    events = list(Event.objects.filter(payload__data__contact__id=contact_id))
    for event in events:
        data = event.payload["data"]
        data["contact"]["name"] = name
        if "comment" in data:
            data["comment"] = ""
    Event.objects.bulk_update(events, ["payload"])
    return len(events)
