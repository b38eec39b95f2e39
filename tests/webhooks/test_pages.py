"""The admin pages: endpoints (the secret shown once), the delivery log, a delivery's attempts, send again."""

import pytest
from django.utils import timezone

from tests.factories import AccountFactory
from tests.helpers import HTMX, text
from webhooks.models import Attempt, Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db


def deliveries_for(endpoint: Endpoint, count: int, *, status=Delivery.Status.DELIVERED) -> list[Delivery]:
    account = AccountFactory(name="Northwind")
    now = timezone.now()
    events = Event.objects.bulk_create(
        [
            Event(type="health.dropped", account=account, payload={"type": "health.dropped"}, created_at=now)
            for _ in range(count)
        ]
    )
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(event=event, endpoint=endpoint, status=status, attempts=1, next_attempt_at=now, created_at=now)
            for event in events
        ]
    )
    Attempt.objects.bulk_create(
        [
            Attempt(delivery=delivery, started_at=now, duration_ms=42, status_code=200, ok=True, response_start="ok")
            for delivery in deliveries
        ]
    )
    return deliveries


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(adam, login, receiver):
    client = login(adam)
    response = client.post(
        "/settings/webhooks/new/",
        {"name": "CRM sync", "url": receiver.url, "kind": "generic", "event_types": ["health.dropped", "task.created"]},
    )
    assert response.status_code == 200
    endpoint = Endpoint.objects.get()
    assert (endpoint.name, endpoint.url, endpoint.kind, endpoint.event_types, endpoint.created_by) == (
        "CRM sync",
        receiver.url,
        "generic",
        ["health.dropped", "task.created"],
        adam,
    )
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "Copy the signing secret now It is shown only this once." in text(response)
    for url in ("/settings/webhooks/", f"/settings/webhooks/{endpoint.pk}/", f"/settings/webhooks/{endpoint.pk}/edit/"):
        page = client.get(url)
        assert page.status_code == 200 and endpoint.secret not in page.content.decode()
    assert "CRM sync" in text(client.get("/settings/webhooks/"))


@pytest.mark.parametrize(
    "form, field, message",
    [
        ({"name": "X", "url": "http://127.0.0.1:9/x", "kind": "generic", "event_types": ["health.dropped"]}, "url",
         "127.0.0.1 resolves to an internal address (127.0.0.1): loopback, private and link-local addresses are "
         "refused (WEBHOOK_ALLOW_PRIVATE=true allows them)."),
        ({"name": "X", "url": "http://169.254.169.254/", "kind": "slack", "event_types": ["health.dropped"]}, "url",
         "169.254.169.254 resolves to an internal address (169.254.169.254): loopback, private and link-local "
         "addresses are refused (WEBHOOK_ALLOW_PRIVATE=true allows them)."),
        ({"name": "X", "url": "https://93.184.215.14/x", "kind": "generic"}, "event_types", "This field is required."),
        ({"name": "X", "url": "https://93.184.215.14/x", "kind": "generic", "event_types": ["health.lost"]},
         "event_types", "Select a valid choice. health.lost is not one of the available choices."),
        ({"name": "X", "url": "javascript:alert(1)", "kind": "generic", "event_types": ["health.dropped"]}, "url",
         "Enter a valid URL."),
    ],
)  # fmt: skip
def test_a_bad_endpoint_is_refused_with_a_message_and_nothing_saved(adam, login, settings, form, field, message):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = login(adam).post("/settings/webhooks/new/", form)
    assert response.status_code == 422
    assert response.context["form"].errors[field] == [message]
    assert not Endpoint.objects.exists()


def test_disabling_and_enabling_again_starts_the_failure_count_afresh(adam, login, receiver):
    endpoint = Endpoint.objects.create(name="Hooks", url=receiver.url, event_types=["health.dropped"])
    form = {"name": "Hooks", "url": receiver.url, "kind": "slack", "event_types": ["health.dropped"]}
    client = login(adam)
    assert client.post(f"/settings/webhooks/{endpoint.pk}/edit/", form).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.kind, endpoint.disabled_reason) == (False, "slack", "Disabled by an admin.")
    Endpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=8)

    client.post(f"/settings/webhooks/{endpoint.pk}/edit/", form | {"is_active": "on"})
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.consecutive_failures, endpoint.disabled_at) == (True, 0, None)


def test_the_delivery_log_shows_each_delivery_and_pages(adam, login, receiver):
    endpoint = Endpoint.objects.create(name="Hooks", url=receiver.url, event_types=["health.dropped"])
    deliveries_for(endpoint, 55)
    client = login(adam)
    page = text(client.get(f"/settings/webhooks/{endpoint.pk}/"))
    assert "health.dropped Northwind" in page and "Delivered 1 200 ok 42 ms" in page
    assert "Page 1 of 2" in page
    fragment = client.get(f"/settings/webhooks/{endpoint.pk}/?page=2", headers=HTMX)
    assert fragment.content.decode().lstrip().startswith('<section class="card" id="delivery-log">')
    assert text(fragment).count("health.dropped") == 5


@pytest.mark.parametrize("count", [3, 40])
def test_the_delivery_log_costs_the_same_queries_whatever_its_length(
    count, adam, login, receiver, django_assert_max_num_queries
):
    endpoint = Endpoint.objects.create(name="Hooks", url=receiver.url, event_types=["health.dropped"])
    deliveries_for(endpoint, count)
    client = login(adam)
    with django_assert_max_num_queries(9):
        assert client.get(f"/settings/webhooks/{endpoint.pk}/").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/settings/webhooks/").status_code == 200


def test_a_delivery_shows_its_attempts_and_payload_and_is_sent_again(
    adam, login, receiver, django_capture_on_commit_callbacks
):
    endpoint = Endpoint.objects.create(name="Hooks", url=receiver.url, event_types=["health.dropped"])
    [delivery] = deliveries_for(endpoint, 1, status=Delivery.Status.FAILED)
    client = login(adam)
    page = text(client.get(f"/settings/webhooks/deliveries/{delivery.pk}/"))
    assert f"webhook-id msg_{delivery.event.uuid.hex}" in page
    assert '{ "type": "health.dropped" }' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/settings/webhooks/deliveries/{delivery.pk}/send-again/", follow=True)
    assert "Queued to send again: its attempt shows below once made." in text(response)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert Attempt.objects.filter(delivery=delivery).count() == 2
    assert len(receiver.requests) == 1


def test_send_again_to_a_disabled_endpoint_is_refused(adam, login, receiver):
    endpoint = Endpoint.objects.create(name="Hooks", url=receiver.url, event_types=["health.dropped"], is_active=False)
    [delivery] = deliveries_for(endpoint, 1, status=Delivery.Status.FAILED)
    response = login(adam).post(f"/settings/webhooks/deliveries/{delivery.pk}/send-again/", follow=True)
    assert "Hooks is disabled: enable it first." in text(response)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and receiver.requests == []
