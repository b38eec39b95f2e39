"""Demo data for webhooks: a Slack channel and a CRM endpoint with a few weeks of deliveries, no network.

The history is the demo's own recent answers as the events they would have sent (given by seed_demo,
which reads them from surveys): nearly all delivered, the CRM's receiver down for a morning (a few
deliveries needed a second attempt) and one delivery that failed after every retry. The endpoints'
hosts are under `.example`, which never resolves: live events of the demo are logged as failed
attempts, never sent anywhere.
"""

import datetime
import random

from accounts.models import User
from webhooks.delivery import BACKOFF, MAX_ATTEMPTS
from webhooks.models import Attempt, Delivery, Endpoint, Event, EventType
from webhooks.outbox import event_payload

ENDPOINTS = [
    (
        "#cs-feedback in Slack",
        "https://hooks.slack.example/services/T0PULSE/B0FEEDBACK/demo",
        Endpoint.Kind.SLACK,
        [EventType.RESPONSE_RECEIVED, EventType.RESPONSE_LOW_SCORE, EventType.HEALTH_DROPPED, EventType.TASK_CREATED],
    ),
    (
        "CRM sync",
        "https://crm.northwind.example/hooks/pulse",
        Endpoint.Kind.GENERIC,
        [
            EventType.RESPONSE_RECEIVED,
            EventType.RESPONSE_LOW_SCORE,
            EventType.TASK_COMPLETED,
            EventType.CAMPAIGN_FINISHED,
        ],
    ),
]
RETRIED = 3  # CRM deliveries that needed a second attempt


def seed_webhooks(*, rng: random.Random, history: list[tuple]) -> dict:
    """The two endpoints and their delivery history; nothing if they exist (running it again adds nothing)."""
    if Endpoint.objects.filter(name__in=[name for name, *_ in ENDPOINTS]).exists():
        return {"webhook deliveries": 0}
    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
    endpoints = [
        Endpoint.objects.create(name=name, url=url, kind=kind, event_types=types, created_by=admin)
        for name, url, kind, types in ENDPOINTS
    ]
    events = Event.objects.bulk_create(
        [
            Event(type=type, account=account, payload=event_payload(type=type, account=account, data=data, at=at),
                  created_at=at)
            for type, account, data, at in history
        ]
    )  # fmt: skip
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                event=event,
                endpoint=endpoint,
                status=Delivery.Status.DELIVERED,
                attempts=1,
                next_attempt_at=event.created_at,
                created_at=event.created_at,
            )
            for event in events
            for endpoint in endpoints
            if endpoint.receives(event.type)
        ]
    )
    crm = [delivery for delivery in deliveries if delivery.endpoint.kind == Endpoint.Kind.GENERIC]
    troubled = rng.sample(crm, min(len(crm), RETRIED + 1)) if crm else []
    attempts = []
    for delivery in deliveries:
        if delivery in troubled[:-1]:
            attempts += _attempts(delivery, rng, failures=1)
            delivery.attempts = 2
        elif troubled and delivery is troubled[-1]:
            attempts += _attempts(delivery, rng, failures=MAX_ATTEMPTS)
            delivery.status, delivery.attempts = Delivery.Status.FAILED, MAX_ATTEMPTS
        else:
            attempts += _attempts(delivery, rng, failures=0)
    Attempt.objects.bulk_create(attempts)
    Delivery.objects.bulk_update(deliveries, ["status", "attempts", "delivered_at"])
    return {"webhook deliveries": len(deliveries)}


def _attempts(delivery: Delivery, rng: random.Random, *, failures: int) -> list[Attempt]:
    """A delivery's attempts: `failures` failed ones (each after its backoff), then a success unless all failed."""
    at, made = delivery.created_at + datetime.timedelta(seconds=rng.randint(1, 4)), []
    for number in range(failures):
        made.append(
            Attempt(delivery=delivery, started_at=at, duration_ms=rng.randint(30, 90), status_code=503, ok=False,
                    response_start="Service Unavailable", error="HTTP 503")
        )  # fmt: skip
        if number < len(BACKOFF):
            at += BACKOFF[number]
    if failures < MAX_ATTEMPTS:
        slack = delivery.endpoint.kind == Endpoint.Kind.SLACK
        made.append(
            Attempt(delivery=delivery, started_at=at, duration_ms=rng.randint(60, 420), status_code=200, ok=True,
                    response_start="ok" if slack else '{"received": true}')
        )  # fmt: skip
        delivery.delivered_at = at
    return made
