"""Fuzzing POST /api/v1/metrics: whatever the body, headers or token, never a 5xx, and the table
holds only what a valid request said (README, "Data in").

Each example runs in a savepoint that is rolled back, so every example starts from the same
rows and a failure replays exactly. `derandomize=True` makes the examples a function of the
test's code alone: CI runs the same cases every time and no example database is written.
"""

import datetime
import json
import math
import re

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.metric_import import ITEM_FIELDS, MAX_ABS_VALUE
from accounts.models import MetricValue
from accounts.services import api_token_create, api_token_revoke
from accounts.validators import EARLIEST_DATE
from tests.factories import AccountFactory, MetricDefinitionFactory, MetricValueFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

ACCOUNTS = ("CRM-1", "CRM-2")
METRICS = ("active_users", "tickets")
MAX_ITEMS = 5  # the limit is lowered for these tests so over-size lists stay cheap to send
GOOD, REVOKED = "{good-token}", "{revoked-token}"  # placeholders, replaced by the fixture's tokens


@pytest.fixture
def api(adam, settings):
    settings.METRICS_API_MAX_ITEMS = MAX_ITEMS
    accounts = [AccountFactory(external_id=external_id) for external_id in ACCOUNTS]
    metrics = [MetricDefinitionFactory(key=key) for key in METRICS]
    for days_ago in (0, 2):  # values to replace, so the "updated" path is taken too
        MetricValueFactory(account=accounts[0], metric=metrics[0], date=_days_ago(days_ago), value=3.0)
    _, good = api_token_create(name="Analytics sync", created_by=adam)
    revoked, revoked_raw = api_token_create(name="Old sync", created_by=adam)
    api_token_revoke(token=revoked)
    return {GOOD: good, REVOKED: revoked_raw}


def _days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


# ---- strategies ------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
account_keys = st.sampled_from(ACCOUNTS) | st.sampled_from(["CRM-404", "", "crm-1", " CRM-1", "CRM-1\x00", "\x00"])
metric_keys = st.sampled_from(METRICS) | st.sampled_from(["nps", "", "Active_Users", "tickets\x00", "\x00"])
# Today, yesterday ... and tomorrow (still allowed: another time zone's today), drawn when the test runs.
good_dates = st.integers(-1, 4).map(lambda days: _days_ago(days).isoformat())
bad_dates = st.sampled_from(
    [
        "2026-02-30",
        "0000-01-01",
        "0001-01-01",  # a real day, before the first one Pulse takes (accounts/validators.py)
        "1999-12-31",
        "2026-13-01",
        "2026-00-10",
        "2999-01-01",
        "9999-12-31",
        "2026-W01-1",  # an ISO week date: ten characters, and date.fromisoformat reads it
        "2026-001",
        "20260101",
        "2026-1-1",
        "01/11/2026",
        "2026-01-01T00:00:00",
        " 2026-01-01",
        "２０２６-01-01",
        "",
    ]
)
# Ten characters in the shape of a date, from the characters date formats use.
date_shaped = st.text(alphabet="0123456789-W:T/. ", min_size=10, max_size=10)
dates = (
    good_dates | bad_dates | date_shaped | st.dates().map(datetime.date.isoformat)  # any day from year 1 to 9999
)
values = (
    st.integers(-1000, 1000)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 10**15, 10**15 + 1, 1e15, 1e300, -0.0, True, False, None, "5", "1e3"])
)
valid_items = st.fixed_dictionaries(
    {
        "account": st.sampled_from(ACCOUNTS),
        "metric": st.sampled_from(METRICS),
        "date": good_dates,
        "value": st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False),
    }
)
any_items = st.builds(
    lambda fields, extra: {**extra, **fields},
    st.fixed_dictionaries(
        {},
        optional={
            "account": account_keys | json_values,
            "metric": metric_keys | json_values,
            "date": dates | json_values,
            "value": values | json_values,
        },
    ),
    st.dictionaries(st.text(max_size=10), json_values, max_size=2),
)
# A valid item with one field changed to a likely mistake (or anything), left out, or one field too many.
field_values = {"account": account_keys, "metric": metric_keys, "date": dates, "value": values}
near_valid_items = st.one_of(
    st.builds(
        lambda item, change: {**item, change[0]: change[1]},
        valid_items,
        st.sampled_from(ITEM_FIELDS).flatmap(
            lambda field: st.tuples(st.just(field), field_values[field] | json_values)
        ),
    ),
    st.builds(
        lambda item, field: {k: v for k, v in item.items() if k != field}, valid_items, st.sampled_from(ITEM_FIELDS)
    ),
    st.builds(lambda item, field, new: {field: new, **item}, valid_items, st.text(max_size=8), json_values),
)
item_lists = st.lists(valid_items | near_valid_items | any_items | json_values, max_size=MAX_ITEMS + 2)


def _json(value) -> bytes:
    return json.dumps(value).encode()  # NaN and Infinity are written as such, and Python reads them back


# Number literals json.dumps does not write: 1e400 reads as inf, 5,000 digits is over Python's int limit.
value_literals = values.map(json.dumps) | st.sampled_from(
    ["1e400", "-1e400", "1" * 5000, "1E-400", "-0", "0x10", "01", ".5", "1.", "+1"]
)


def _one_item(*, date: str, value_literal: str) -> bytes:
    return b'[{"account": "CRM-1", "metric": "tickets", "date": "%s", "value": %s}]' % (
        date.encode(),
        value_literal.encode(),
    )


bodies = st.one_of(
    st.lists(valid_items, min_size=1, max_size=MAX_ITEMS).map(_json),
    item_lists.map(_json),
    json_values.map(_json),
    st.builds(_one_item, date=good_dates, value_literal=value_literals),
    st.binary(max_size=64),  # invalid UTF-8, NUL bytes, nothing at all
    st.lists(valid_items, min_size=1, max_size=2).map(lambda items: json.dumps(items).encode("utf-16")),
    st.integers(1, 50_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 50_000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    st.integers(1, 2_000).map(lambda depth: b'[{"account": %s, "value": 1}]' % (b"[" * depth + b"]" * depth)),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=bogus",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "",
    ]
)
# A WSGI server hands header values over as Latin-1 text without line breaks.
header_text = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=60)
authorizations = st.one_of(
    st.sampled_from([f"Bearer {GOOD}", f"bearer {GOOD}", f"Bearer   {GOOD} "]),
    st.sampled_from(
        [
            f"Bearer {REVOKED}",
            f"Basic {GOOD}",
            GOOD,
            f"Bearer {GOOD}x",
            f"Bearer {GOOD}\x00",
            f"Bearer x{GOOD}",
            "Bearer",
            "Bearer ",
            "Bearer pulse_",
            "",
        ]
    ),
    header_text,
    header_text.map(lambda text: "Bearer " + text),
    st.none(),
)
methods = st.sampled_from(["POST"] * 6 + ["GET", "PUT", "PATCH", "DELETE"])


# ---- the contract ----------------------------------------------------------------------


def _authorised(header: str | None) -> bool:
    return header in (f"Bearer {GOOD}", f"bearer {GOOD}", f"Bearer   {GOOD} ")


def _contract_items(body: bytes) -> list[dict] | None:
    """The items of a body the README accepts, or None: what the API must store, or refuse whole."""
    try:
        items = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        return None
    latest = timezone.localdate() + datetime.timedelta(days=1)
    keys = set()
    for item in items:
        if not isinstance(item, dict) or set(item) != set(ITEM_FIELDS):
            return None
        account, metric, date, value = (item[name] for name in ITEM_FIELDS)
        if account not in ACCOUNTS or metric not in METRICS:
            return None
        if not isinstance(date, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date):
            return None
        try:
            if not EARLIEST_DATE <= datetime.date.fromisoformat(date) <= latest:
                return None
        except ValueError:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) <= MAX_ABS_VALUE:
            return None  # `not <=` is also true for NaN
        if (account, metric, date) in keys:
            return None
        keys.add((account, metric, date))
    return items


def _stored() -> dict[tuple, float]:
    rows = MetricValue.objects.values_list("account__external_id", "metric__key", "date", "value")
    return {(account, metric, date.isoformat()): value for account, metric, date, value in rows}


def _assert_every_stored_value_is_valid():
    latest = timezone.localdate() + datetime.timedelta(days=1)
    for value in MetricValue.objects.all():
        assert math.isfinite(value.value) and abs(value.value) <= MAX_ABS_VALUE, value
        assert isinstance(value.date, datetime.date) and EARLIEST_DATE <= value.date <= latest, value


def _exchange(client, tokens, *, method, body, content_type, authorization):
    """Send one request and check everything the contract says about its answer and the table."""
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.replace(GOOD, tokens[GOOD]).replace(REVOKED, tokens[REVOKED])
    before = _stored()

    with transaction.atomic():
        answer = client.generic(method, "/api/v1/metrics", body, content_type, headers=headers)
        after = _stored()
        _assert_every_stored_value_is_valid()
        transaction.set_rollback(True)  # the next example starts from the same rows

    assert answer.status_code < 500
    reply = answer.json()
    items = _contract_items(body)
    if answer.status_code == 200:
        assert method == "POST" and _authorised(authorization) and items is not None, reply
        expected = before | {(i["account"], i["metric"], i["date"]): float(i["value"]) for i in items}
        assert after == expected
        new = sum(1 for i in items if (i["account"], i["metric"], i["date"]) not in before)
        assert reply == {"created": new, "updated": len(items) - new}
        return
    assert after == before, "a refused request stored something"
    assert isinstance(reply["error"], str) and reply["error"]
    if method != "POST":
        assert answer.status_code == 405
    elif not _authorised(authorization):
        assert answer.status_code == 401 and answer["WWW-Authenticate"] == "Bearer"
    else:
        assert answer.status_code == 400
        assert items is None or not content_type.startswith("application/json"), "a valid request was refused"
        for error in reply.get("errors", []):
            assert isinstance(error["index"], int) and isinstance(error["field"], str) and error["message"]


def _post_as_integration(client, tokens, body: bytes):
    _exchange(client, tokens, method="POST", body=body, content_type="application/json", authorization=f"Bearer {GOOD}")


@settings(FUZZ, max_examples=400)
@given(method=methods, body=bodies, content_type=content_types, authorization=authorizations)
def test_any_request_gets_no_5xx_and_stores_only_what_a_valid_one_said(
    client, api, method, body, content_type, authorization
):
    _exchange(client, api, method=method, body=body, content_type=content_type, authorization=authorization)


@settings(FUZZ, max_examples=200)
@given(
    items=st.one_of(
        item_lists,
        st.lists(valid_items, min_size=1, max_size=MAX_ITEMS + 1),
        st.builds(lambda items, bad: [*items, bad], st.lists(valid_items, max_size=2), near_valid_items),
    )
)
def test_any_list_of_items_is_stored_whole_or_refused_whole(client, api, items):
    _post_as_integration(client, api, _json(items))


@settings(FUZZ, max_examples=150)
@given(date=dates)
@example(date="2026-W01-1")  # Python reads ISO week dates too; the API takes only YYYY-MM-DD
def test_only_a_real_yyyy_mm_dd_date_is_stored(client, api, date):
    item = {"account": "CRM-2", "metric": "tickets", "date": date, "value": 1}
    _post_as_integration(client, api, _json([item]))


@settings(FUZZ, max_examples=150)
@given(value_literal=value_literals)
def test_only_a_finite_number_within_range_is_stored(client, api, value_literal):
    _post_as_integration(client, api, _one_item(date=_days_ago(1).isoformat(), value_literal=value_literal))


@settings(FUZZ, max_examples=150)
@given(account=account_keys | st.text() | json_values, metric=metric_keys | st.text() | json_values)
def test_only_known_accounts_and_metrics_are_stored(client, api, account, metric):
    item = {"account": account, "metric": metric, "date": _days_ago(1).isoformat(), "value": 7}
    _post_as_integration(client, api, _json([item]))
