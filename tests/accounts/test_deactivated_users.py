"""A deactivated user's API tokens and sessions stop working."""

import json

import pytest

from accounts.models import MetricValue
from accounts.services import api_token_create
from tests.factories import AccountFactory, MetricDefinitionFactory, UserFactory


@pytest.fixture
def metric_item(alice):
    AccountFactory(external_id="CRM-1", owner=alice)
    MetricDefinitionFactory(key="active_users", label="Active users")
    return {"account": "CRM-1", "metric": "active_users", "date": "2026-03-01", "value": 3}


def post_metrics(client, token, item):
    return client.post(
        "/api/v1/metrics",
        data=json.dumps([item]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_token_is_refused_once_the_admin_who_created_it_is_deactivated(client, adam, metric_item, login):
    other_admin = UserFactory(email="ada@pulse.test", name="Ada Admin", role="admin")
    _, token = api_token_create(name="Analytics sync", created_by=adam)
    _, kept = api_token_create(name="Billing sync", created_by=other_admin)
    assert post_metrics(client, token, metric_item).status_code == 200

    adam.is_active = False
    adam.save()

    refused = post_metrics(client, token, {**metric_item, "value": 99})
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Bearer"
    assert MetricValue.objects.get().value == 3
    assert post_metrics(client, kept, {**metric_item, "value": 4}).status_code == 200  # another admin's still works
    page = login(other_admin).get("/settings/api-tokens/").content.decode()
    assert page.count("Refused: its creator is no longer an active admin") == 1


def test_a_token_is_refused_once_its_creator_is_no_longer_an_admin(client, adam, metric_item):
    _, token = api_token_create(name="Analytics sync", created_by=adam)
    adam.role = "csm"
    adam.save()

    assert post_metrics(client, token, metric_item).status_code == 401
    assert not MetricValue.objects.exists()


def test_a_session_stops_working_when_its_user_is_deactivated(client, alice, alice_account, password):
    assert client.post("/login/", {"username": "alice@pulse.test", "password": password}).status_code == 302
    assert client.get("/portfolio/").status_code == 200

    alice.is_active = False
    alice.save()

    response = client.get("/portfolio/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get(f"/accounts/{alice_account.pk}/").status_code == 302
    assert (
        client.post(f"/accounts/{alice_account.pk}/checkins/", {"sentiment": 3, "date": "2026-03-01"}).status_code
        == 302
    )
    assert not alice_account.checkins.exists()


def test_an_admin_deactivated_in_the_django_admin_loses_the_admin_at_once(client, adam, login):
    other_admin = UserFactory(email="ada@pulse.test", name="Ada Admin", role="admin")
    admin_client = login(adam)
    assert admin_client.get("/admin/").status_code == 200

    other = client.__class__()
    other.force_login(other_admin)
    form = {"email": adam.email, "name": adam.name, "role": "admin"}  # is_active unticked
    assert other.post(f"/admin/accounts/user/{adam.pk}/change/", form).status_code == 302

    assert admin_client.get("/admin/").status_code == 302
    assert admin_client.get("/settings/api-tokens/").status_code == 302
