"""POST /api/v1/metrics: bearer tokens, all-or-nothing validation, upsert by (account, metric, date)."""

import json

import pytest

from accounts.models import ApiToken, MetricValue
from accounts.services import api_token_create
from tests.factories import AccountFactory, MetricDefinitionFactory


@pytest.fixture
def token(adam):
    _, raw = api_token_create(name="Analytics sync", created_by=adam)
    return raw


@pytest.fixture
def acme(alice):
    return AccountFactory(external_id="CRM-1", owner=alice)


@pytest.fixture
def usage(db):
    return MetricDefinitionFactory(key="active_users", label="Active users")


def post(client, body, token=None, raw=False):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if raw else json.dumps(body)
    return client.post("/api/v1/metrics", data=data, content_type="application/json", headers=headers)


def item(**overrides):
    return {"account": "CRM-1", "metric": "active_users", "date": "2026-11-01", "value": 12, **overrides}


def test_values_are_stored_and_counted(client, token, acme, usage):
    response = post(client, [item(), item(date="2026-11-02", value=14.5)], token)
    assert response.status_code == 200
    assert response.json() == {"created": 2, "updated": 0}
    assert sorted(MetricValue.objects.values_list("value", flat=True)) == [12.0, 14.5]


def test_same_account_metric_date_replaces_the_value(client, token, acme, usage):
    post(client, [item(value=12)], token)
    response = post(client, [item(value=20), item(date="2026-11-03", value=1)], token)
    assert response.json() == {"created": 1, "updated": 1}
    assert MetricValue.objects.count() == 2
    assert MetricValue.objects.get(date="2026-11-01").value == 20


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        (item(account="CRM-404"), "account", "no account with external id 'CRM-404'"),
        (item(metric="nps"), "metric", "no metric with key 'nps'"),
        (item(date="01/11/2026"), "date", "is not a date in YYYY-MM-DD form"),
        (item(date="2026-02-30"), "date", "is not a date"),
        (item(date="2999-01-01"), "date", "is in the future"),
        (item(date="0001-01-01"), "date", "0001-01-01 is not between 2000-01-01 and"),
        (item(date="1999-12-31"), "date", "1999-12-31 is not between 2000-01-01 and"),
        (item(value="12"), "value", "'12' is not a number"),
        (item(value=True), "value", "True is not a number"),
        (item(value=None), "value", "None is not a number"),
        (item(value=1e300), "value", "out of range"),
        (item(colour="red"), "colour", "unknown field(s): colour"),
        ({"metric": "active_users", "date": "2026-11-01", "value": 1}, "account", "missing"),
        ("just a string", "", "each item must be an object"),
    ],
)
def test_any_invalid_item_stores_nothing(client, token, acme, usage, bad, field, message):
    response = post(client, [item(date="2026-10-01"), bad], token)
    assert response.status_code == 400
    body = response.json()
    assert body["error"].endswith("nothing was stored")
    assert {"index": 1, "field": field} == {k: body["errors"][0][k] for k in ("index", "field")}
    assert message in body["errors"][0]["message"]
    assert not MetricValue.objects.exists()


def test_account_or_metric_given_as_a_list_or_object_is_a_400_not_a_500(client, token, acme, usage):
    response = post(client, [item(account=["CRM-1"]), item(date="2026-10-01", metric={"key": "active_users"})], token)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "field": "account", "message": "no account with external id ['CRM-1']"},
        {"index": 1, "field": "metric", "message": "no metric with key {'key': 'active_users'}"},
    ]
    assert not MetricValue.objects.exists()


def test_iso_week_date_is_refused_rather_than_stored_as_another_day(client, token, acme, usage):
    response = post(client, [item(date="2026-W44-1")], token)  # Python reads it as 2026-10-26

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "field": "date", "message": "'2026-W44-1' is not a date in YYYY-MM-DD form"}
    ]
    assert not MetricValue.objects.exists()


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_integer_too_large_for_a_float_is_out_of_range_not_a_500(client, token, acme, usage, value):
    response = post(client, [item(value=value)], token)  # JSON writes all 401 digits

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "value"
    assert response.json()["errors"][0]["message"].endswith(" is out of range")
    assert not MetricValue.objects.exists()


def test_account_or_metric_with_a_nul_character_is_unknown_not_a_500(client, token, acme, usage):
    response = post(client, [item(account="CRM-1\x00"), item(date="2026-10-01", metric="active_users\x00")], token)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "field": "account", "message": "no account with external id 'CRM-1\\x00'"},
        {"index": 1, "field": "metric", "message": "no metric with key 'active_users\\x00'"},
    ]
    assert not MetricValue.objects.exists()


def test_duplicate_items_in_one_request_are_refused(client, token, acme, usage):
    response = post(client, [item(), item(value=3)], token)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "same account, metric and date as item 0"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "the body is not valid JSON"),
        ('{"account": "CRM-1"}', "the body must be a JSON list"),
        ("[]", "the list is empty"),
    ],
)
def test_malformed_body_is_a_400_with_reason(client, token, acme, usage, body, message):
    response = post(client, body, token, raw=True)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_body_nested_too_deeply_to_read_is_a_400_not_a_500(client, token, acme, usage):
    response = post(client, "[" * 100_000 + "]" * 100_000, token, raw=True)
    assert response.status_code == 400
    assert "the body is not valid JSON (maximum recursion depth exceeded" in response.json()["error"]


def test_more_than_10000_items_is_refused(client, token, acme, usage):
    response = post(client, [item()] * 10_001, token)
    assert response.status_code == 400
    assert "at most 10,000 items" in response.json()["error"]
    assert not MetricValue.objects.exists()


def test_10000_items_are_accepted(client, token, acme, usage, django_assert_max_num_queries):
    import datetime

    MetricDefinitionFactory(key="tickets")
    start = datetime.date(2010, 1, 1)  # two metrics of 5,000 days each: dates start in 2000 (accounts/validators.py)
    items = [
        item(metric=metric, date=(start + datetime.timedelta(days=n)).isoformat(), value=n)
        for metric in ("active_users", "tickets")
        for n in range(5_000)
    ]
    # Not a query per item: SQLite's variable limit splits the insert into ~50 batches, PostgreSQL into 5.
    with django_assert_max_num_queries(80):
        response = post(client, items, token)
    assert response.json() == {"created": 10_000, "updated": 0}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "Token pulse_x"])
def test_missing_or_unknown_token_is_401(client, db, acme, usage, header):
    headers = {"Authorization": header} if header else {}
    response = client.post(
        "/api/v1/metrics", data=json.dumps([item()]), content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert not MetricValue.objects.exists()


def test_revoked_token_is_401(client, token, acme, usage, adam, login):
    api_token = ApiToken.objects.get()
    login(adam).post(f"/settings/api-tokens/{api_token.pk}/revoke/")
    assert post(client, [item()], token).status_code == 401


def test_get_is_405_with_json_reason(client, db):
    response = client.get("/api/v1/metrics")
    assert response.status_code == 405 and "use POST" in response.json()["error"]


def test_token_is_stored_hashed_and_records_use(client, token, acme, usage):
    api_token = ApiToken.objects.get()
    assert token not in (api_token.token_hash, api_token.prefix) and token.startswith(api_token.prefix)
    assert len(token) >= 40
    post(client, [item()], token)
    api_token.refresh_from_db()
    assert api_token.last_used_at is not None


def test_admin_creates_token_and_sees_it_once(adam, login):
    client = login(adam)
    page = client.post("/settings/api-tokens/", {"name": "CRM sync"}).content.decode()
    token = ApiToken.objects.get(name="CRM sync")
    assert "Copy this token now" in page and token.prefix in page
    again = client.get("/settings/api-tokens/").content.decode()
    assert "Copy this token now" not in again and token.prefix in again


def test_token_form_requires_a_name(adam, login):
    response = login(adam).post("/settings/api-tokens/", {"name": ""})
    assert response.status_code == 422 and "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()
