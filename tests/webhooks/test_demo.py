"""The demo's webhooks: a Slack channel and a CRM endpoint with a believable history, and nothing sent anywhere."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import TestCase

from webhooks.models import Attempt, Delivery, Endpoint

pytestmark = [pytest.mark.django_db, pytest.mark.dates]


@pytest.fixture(autouse=True)
def _demo_mode(settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setattr("scoring.demo.history_days", lambda today: [today])


def seed():
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("seed_demo", accounts=30, stdout=StringIO())


def test_the_demo_has_two_endpoints_with_delivered_retried_and_failed_deliveries():
    seed()
    slack, crm = Endpoint.objects.order_by("name")
    assert (slack.kind, crm.kind) == ("slack", "generic")
    assert slack.url.startswith("https://hooks.slack.example/") and crm.url.startswith("https://crm.northwind.example/")
    assert Delivery.objects.filter(endpoint=slack, status="delivered").count() > 3
    assert Delivery.objects.filter(endpoint=crm, status="delivered").count() > 10
    assert Delivery.objects.filter(endpoint=crm, attempts=2, status="delivered").count() == 3
    [failed] = Delivery.objects.filter(status="failed")
    assert failed.attempt_log.count() == 7 and not failed.attempt_log.filter(ok=True).exists()
    assert set(Attempt.objects.filter(ok=False).values_list("error", flat=True)) <= {"HTTP 503"} | {
        "The host crm.northwind.example could not be resolved."
    }
    assert all(endpoint.is_active for endpoint in (slack, crm))

    before = Delivery.objects.count()
    seed()
    assert Endpoint.objects.count() == 2 and Delivery.objects.count() == before
