"""Events reach a real local receiver signed per Standard Webhooks, are retried with backoff under one
webhook-id, survive a broker that is down, and a failing endpoint is disabled with the admins told."""

import datetime
import json

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.models import Notification
from config.celery import app as celery_app
from tests.brokers import drop_connection_pools
from tests.factories import AccountFactory
from webhooks.delivery import BACKOFF, MAX_ATTEMPTS, deliveries_sweep
from webhooks.models import Attempt, Delivery, Endpoint, Event, EventType
from webhooks.outbox import event_record, events_record
from webhooks.services import delivery_send_again, endpoint_create

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def endpoint(receiver, adam):
    return endpoint_create(
        name="Ops receiver",
        url=receiver.url,
        kind=Endpoint.Kind.GENERIC,
        event_types=[EventType.RESPONSE_LOW_SCORE, EventType.HEALTH_DROPPED],
        by=adam,
    )


def record_low_score(account, django_capture_on_commit_callbacks, score=3):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            event_record(type=EventType.RESPONSE_LOW_SCORE, account=account, data={"kind": "nps", "score": score})


def test_a_recorded_event_reaches_the_receiver_signed_per_standard_webhooks(
    clock, receiver, endpoint, alice, django_capture_on_commit_callbacks
):
    account = AccountFactory(owner=alice, name="Northwind", external_id="CRM-7")
    record_low_score(account, django_capture_on_commit_callbacks)

    [request] = receiver.requests
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload == {
        "type": "response.low_score",
        "timestamp": "2026-03-10T09:00:00Z",
        "data": {
            "account": {
                "id": account.pk,
                "name": "Northwind",
                "external_id": "CRM-7",
                "url": f"http://127.0.0.1:8000/accounts/{account.pk}/",
            },
            "kind": "nps",
            "score": 3,
        },
    }
    event = Event.objects.get()
    assert request.headers["webhook-id"] == f"msg_{event.uuid.hex}"
    assert request.headers["webhook-timestamp"] == str(int(START.timestamp()))
    assert endpoint.secret.startswith("whsec_")
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("delivered", 1, START)
    attempt = Attempt.objects.get()
    assert (attempt.status_code, attempt.ok, attempt.response_start, attempt.error) == (200, True, '{"ok": true}', "")


def test_a_wrong_secret_does_not_verify(clock, receiver, endpoint, alice, django_capture_on_commit_callbacks):
    from standardwebhooks.webhooks import WebhookVerificationError

    record_low_score(AccountFactory(owner=alice), django_capture_on_commit_callbacks)
    [request] = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(Endpoint(name="x", url="http://x").secret).verify(request.body, request.headers)


def test_a_receiver_answering_500_then_200_gets_the_event_twice_with_the_same_webhook_id(
    clock, receiver, endpoint, alice, django_capture_on_commit_callbacks
):
    receiver.statuses = [500]
    record_low_score(AccountFactory(owner=alice), django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("pending", 1, START + BACKOFF[0])
    assert Attempt.objects.get().error == "HTTP 500"
    assert Attempt.objects.get().response_start == "Internal error: try later"
    assert deliveries_sweep() == 0  # not due yet
    clock.shift(BACKOFF[0])
    assert deliveries_sweep() == 1
    first, second = receiver.requests
    Webhook(endpoint.secret).verify(second.body, second.headers)  # signed at its own time
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert deliveries_sweep() == 0
    clock.shift(datetime.timedelta(days=2))
    assert deliveries_sweep() == 0
    assert len(receiver.requests) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert Endpoint.objects.get().consecutive_failures == 0


def test_retries_back_off_for_about_a_day_then_the_delivery_fails(
    clock, receiver, endpoint, alice, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_DISABLE_AFTER = 100
    receiver.statuses = [500] * 20
    record_low_score(AccountFactory(owner=alice), django_capture_on_commit_callbacks)
    for wait in BACKOFF:
        clock.shift(wait - datetime.timedelta(seconds=1))
        assert deliveries_sweep() == 0
        clock.shift(datetime.timedelta(seconds=1))
        assert deliveries_sweep() == 1

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert len(receiver.requests) == MAX_ATTEMPTS == 7
    assert datetime.timedelta(hours=20) < sum(BACKOFF, datetime.timedelta()) < datetime.timedelta(hours=25)
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 1
    clock.shift(datetime.timedelta(days=3))
    assert deliveries_sweep() == 0


def test_send_again_starts_a_new_series_with_the_same_webhook_id(
    clock, receiver, endpoint, alice, django_capture_on_commit_callbacks, settings
):
    receiver.statuses = [500] * 7
    record_low_score(AccountFactory(owner=alice), django_capture_on_commit_callbacks)
    Delivery.objects.update(status=Delivery.Status.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        delivery_send_again(delivery=Delivery.objects.get())

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    assert Attempt.objects.count() == 2


def test_a_rolled_back_change_leaves_no_event(receiver, endpoint, alice, django_capture_on_commit_callbacks):
    account = AccountFactory(owner=alice)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            event_record(type=EventType.RESPONSE_LOW_SCORE, account=account, data={"score": 1})
            raise RuntimeError("the change fails")
    assert (Event.objects.count(), Delivery.objects.count(), receiver.requests) == (0, 0, [])


def test_nothing_is_written_for_a_type_no_active_endpoint_wants(receiver, endpoint, alice):
    Endpoint.objects.create(name="Off", url=receiver.url, event_types=["response.received"], is_active=False)
    assert events_record(type=EventType.RESPONSE_RECEIVED, items=[(AccountFactory(owner=alice), {"score": 9})]) == 0
    assert Event.objects.count() == 0


def test_an_unknown_event_type_is_refused(endpoint):
    with pytest.raises(ValueError, match="unknown webhook event type 'response.lost'"):
        event_record(type="response.lost", data={})


@pytest.mark.parametrize("items", [1, 40])
def test_events_record_costs_three_queries_whatever_the_number_of_items(
    items, receiver, endpoint, alice, django_assert_num_queries
):
    Endpoint.objects.create(name="Second", url=receiver.url, event_types=["health.dropped"])
    accounts = AccountFactory.create_batch(items, owner=alice)
    with django_assert_num_queries(3):
        written = events_record(
            type=EventType.HEALTH_DROPPED, items=[(account, {"drop": 12, "score": 34}) for account in accounts]
        )
    assert written == items
    assert Delivery.objects.count() == 2 * items


def test_with_the_broker_down_events_are_recorded_and_the_sweep_delivers_them_once_it_is_back(
    clock, receiver, endpoint, alice, django_capture_on_commit_callbacks
):
    saved = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    drop_connection_pools()
    try:
        record_low_score(AccountFactory(owner=alice), django_capture_on_commit_callbacks)
        assert Delivery.objects.get().status == "pending"
        assert receiver.requests == []
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = saved
        drop_connection_pools()

    assert deliveries_sweep() == 0  # its task may still be on its way
    clock.shift(datetime.timedelta(minutes=1))
    assert deliveries_sweep() == 1
    assert deliveries_sweep() == 0
    assert len(receiver.requests) == 1
    Webhook(endpoint.secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    assert Delivery.objects.get().status == "delivered"


def test_an_endpoint_failing_again_and_again_is_disabled_and_the_admins_told(
    clock, receiver, endpoint, alice, adam, django_capture_on_commit_callbacks, settings, mailoutbox
):
    settings.WEBHOOK_DISABLE_AFTER = 3
    receiver.statuses = [500] * 10
    account = AccountFactory(owner=alice)
    for _ in range(3):
        record_low_score(account, django_capture_on_commit_callbacks)

    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.consecutive_failures, endpoint.disabled_at) == (False, 3, START)
    assert endpoint.disabled_reason == "3 failed attempts in a row; the last: HTTP 500"
    [notification] = Notification.objects.all()
    assert (notification.user, notification.title) == (adam, "Webhook endpoint Ops receiver disabled")
    assert notification.url == f"/settings/webhooks/{endpoint.pk}/"
    [email] = mailoutbox
    assert (email.to, email.subject) == ([adam.email], "Webhook endpoint Ops receiver disabled")
    assert "has been disabled: 3 failed attempts in a row; the last: HTTP 500" in email.body

    # Disabled: its waiting retries are not tried, and new events are not written for it.
    clock.shift(datetime.timedelta(hours=1))
    assert deliveries_sweep() == 0
    assert len(receiver.requests) == 3
    record_low_score(account, django_capture_on_commit_callbacks)
    assert Event.objects.count() == 3


def test_delivery_of_a_deleted_or_delivered_delivery_does_nothing(
    clock, receiver, endpoint, alice, django_capture_on_commit_callbacks
):
    from webhooks.delivery import delivery_attempt

    record_low_score(AccountFactory(owner=alice), django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert delivery_attempt(delivery_id=delivery.pk + 1000) is None
    assert len(receiver.requests) == 1
    assert timezone.now() == START


def test_without_the_setting_a_loopback_receiver_is_refused_at_delivery(
    clock, receiver, endpoint, alice, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    record_low_score(AccountFactory(owner=alice), django_capture_on_commit_callbacks)
    assert receiver.requests == []
    attempt = Attempt.objects.get()
    assert (attempt.ok, attempt.status_code) == (False, None)
    assert attempt.error == (
        "127.0.0.1 resolves to an internal address (127.0.0.1): loopback, private and link-local addresses "
        "are refused (WEBHOOK_ALLOW_PRIVATE=true allows them)."
    )
    assert Delivery.objects.get().status == "pending"


def test_a_slack_endpoint_gets_text_and_blocks_with_a_link_to_the_account(
    clock, receiver, alice, django_capture_on_commit_callbacks
):
    endpoint_create(
        name="#cs-alerts", url=receiver.url, kind=Endpoint.Kind.SLACK, event_types=["response.low_score"], by=None
    )
    account = AccountFactory(owner=alice, name="Acme <Labs> & Co")
    with django_capture_on_commit_callbacks(execute=True):
        event_record(
            type=EventType.RESPONSE_LOW_SCORE,
            account=account,
            data={"kind": "nps", "score": 2, "contact": {"name": "Dana"}, "comment": "Export is slow\nand breaks"},
        )
    [request] = receiver.requests
    assert "webhook-signature" not in request.headers
    url = f"http://127.0.0.1:8000/accounts/{account.pk}/"
    assert json.loads(request.body) == {
        "text": "Acme &lt;Labs&gt; &amp; Co: Dana answered NPS 2",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Acme &lt;Labs&gt; &amp; Co: Dana answered NPS 2*"},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "> Export is slow\n> and breaks"}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{url}|Open Acme &lt;Labs&gt; &amp; Co in Pulse>"}],
            },
        ],
    }
