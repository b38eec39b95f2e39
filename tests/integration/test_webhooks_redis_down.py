"""Redis down while a customer answers: the webhook events are recorded with the answer, and a real Celery
worker delivers them, signed, once Redis is back and the sweep runs."""

import datetime

import pytest
from django.test import Client
from standardwebhooks import Webhook

from tests.brokers import drop_connection_pools
from tests.factories import AccountFactory, ContactFactory, InvitationFactory
from tests.integration.conftest import wait_until
from tests.webhook_receiver import webhook_receiver
from webhooks.delivery import FIRST_ATTEMPT_GRACE
from webhooks.models import Delivery, Endpoint, Event
from webhooks.tasks import deliveries_sweep_task

pytestmark = pytest.mark.integration


@pytest.fixture
def broker_url(redis_server):
    return redis_server.url


@pytest.fixture
def worker_env():
    return {"WEBHOOK_ALLOW_PRIVATE": "true"}  # the receiver is on loopback


@pytest.fixture
def receiver():
    with webhook_receiver() as state:
        yield state


def test_events_recorded_with_redis_down_are_delivered_once_it_is_back(celery_worker, redis_server, receiver, alice):
    endpoint = Endpoint.objects.create(
        name="Ops", url=receiver.url, event_types=["response.received", "response.low_score"]
    )
    account = AccountFactory(owner=alice, name="Northwind")
    invitation = InvitationFactory(contact=ContactFactory(account=account, name="Dana Detractor"))

    redis_server.kill()
    response = Client().post(f"/s/{invitation.token}/", {"score": "2"})
    assert response.status_code == 302, response.content[:500]
    assert sorted(Event.objects.values_list("type", flat=True)) == ["response.low_score", "response.received"]
    assert list(Delivery.objects.values_list("status", "attempts")) == [("pending", 0)] * 2
    assert receiver.requests == []

    redis_server.start()
    drop_connection_pools()
    # As the beat schedule would, a minute later: the sweep takes the deliveries whose task was never queued.
    Delivery.objects.update(created_at=Delivery.objects.get(event__type="response.received").created_at
                            - FIRST_ATTEMPT_GRACE - datetime.timedelta(seconds=1))  # fmt: skip
    celery_worker.wait_for_task(deliveries_sweep_task.delay().id, timeout=60)
    wait_until(lambda: not Delivery.objects.exclude(status="delivered").exists(), timeout=30, what="the deliveries")
    assert sorted(Webhook(endpoint.secret).verify(r.body, r.headers)["type"] for r in receiver.requests) == [
        "response.low_score",
        "response.received",
    ]

    celery_worker.wait_for_task(deliveries_sweep_task.delay().id, timeout=60)  # the next tick: nothing more
    assert len(receiver.requests) == 2
