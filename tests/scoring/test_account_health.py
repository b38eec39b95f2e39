"""One account's health page: who sees it, the breakdown's numbers, not enough data, the comparison of two days."""

import datetime
import html as html_lib
import re

import pytest
from django.utils import timezone

from accounts.models import MetricDefinition
from core.numbers import whole
from scoring import engine
from scoring.inputs import Value
from scoring.models import HealthSnapshot
from scoring.services import health_recompute
from tests.factories import (
    CheckInFactory,
    HealthSnapshotFactory,
    MetricValueFactory,
    OverrideFactory,
    default_health_version,
)
from tests.helpers import text


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def url(account, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/accounts/{account.pk}/health/" + (f"?{query}" if query else "")


def scored(account, day, *, nps=30, seat=45.0, billing=0, sentiment=4) -> HealthSnapshot:
    """A snapshot the engine itself computed from known inputs on the default model.

    Default model (migration 0002): NPS 20, Seat usage 20, Support tickets 15, Billing 15, CSAT 10,
    Check-in sentiment 20. Here support tickets are missing and CSAT is stale.
    """
    version = default_health_version()
    components = list(version.components.select_related("metric").order_by("position", "pk"))
    values = [
        None if nps is None else Value(nps, 10),
        None if seat is None else Value(seat, 30),
        None,
        None if billing is None else Value(billing, 1),
        Value(None, stale=True),
        None if sentiment is None else Value(sentiment, 1),
    ]
    score, band, coverage, breakdown = engine.score_components(version, components, values)
    return HealthSnapshotFactory(
        account=account, date=day, version=version, score=score, band=band, coverage=coverage, components=breakdown
    )


@pytest.mark.parametrize(
    ("who", "status"), [("alice", 200), ("bob", 200), ("carol", 404), ("maria", 200), ("adam", 200)]
)
def test_who_sees_the_health_page(cast, alice_account, login, who, status):
    scored(alice_account, days_ago(0))
    response = login(cast[who]).get(url(alice_account))
    assert response.status_code == status
    if status == 200:
        assert "Health of Acme Alpha" in response.content.decode()


def test_anonymous_is_sent_to_login(client, alice_account):
    response = client.get(url(alice_account))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_breakdown_shows_the_exact_contributions_and_statuses(alice, alice_account, login):
    # NPS +30 -> 75, seat usage 45% -> 50, billing 0 days -> 100, sentiment 4 -> 75, over 75 of 100 weight.
    scored(alice_account, days_ago(0))
    response = login(alice).get(url(alice_account))
    page = text(response)
    assert "higher is healthier" in page
    assert "Default health model v1" in page
    assert "Coverage 75%" in page
    html = response.content.decode()
    assert 'class="health-number health-bg-green"' in html and ">73<" in html
    rows = dict(re.findall(r'<tr class="health-row-\w+">\s*<td class="card-title">([^<]+)</td>(.*?)</tr>', html, re.S))
    cells = {label: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for label, row in rows.items()}

    def row(label):
        return [html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell))).strip() for cell in cells[label]]

    # value, n, score 0-100, weight, points (whole, adding up to the score shown), status
    assert row("NPS") == ["+30", "10 latest answer per contact, last 180 days", "75", "20", "20", "ok"]
    assert row("Seat usage") == ["45.0%", "30 mean of the last 30 days", "50", "20", "13", "ok"]
    assert row("Billing") == ["0 days", "1 latest value", "100", "15", "20", "ok"]
    assert row("Check-in sentiment") == ["4 of 5", "1", "75", "20", "20", "ok"]
    assert 'title="13.33 points before rounding"' in html
    assert row("Support tickets") == ["—", "— sum of the last 30 days", "—", "15", "—", "missing no data"]
    assert row("CSAT") == [
        "—",
        "— latest answer per contact, last 180 days",
        "—",
        "10",
        "—",
        "stale data older than the component's window (180 days)",
    ]
    assert "Health score (the points added up) 73" in page
    assert "Missing inputs: Support tickets." in page
    assert "Stale inputs: CSAT" in page
    assert "Raising Seat usage to its 'good' level would add 13 points (now 45.0%, good 70%)" in page


def test_not_enough_data_says_what_is_missing_and_the_minimum(alice, alice_account, login):
    scored(alice_account, days_ago(0), seat=None, billing=None, sentiment=None)  # only NPS: 20% of the weight
    page = text(login(alice).get(url(alice_account)))
    assert "Not enough data" in page
    assert "Only 20% of the model's weight had data; Default health model needs at least 50% to give a score" in page
    assert "Missing: Seat usage, Support tickets, Billing, Check-in sentiment. Too old: CSAT." in page
    assert "would add" not in page


def test_no_snapshot_yet_shows_the_empty_state_and_the_override_card(alice, alice_account, login):
    response = login(alice).get(url(alice_account))
    page = text(response)
    assert response.status_code == 200
    assert (
        "No health score yet. Scores are computed nightly and shortly after new answers or metrics; "
        "an admin can run manage.py recompute_health." in page
    )
    assert "Override the health" in page and "What changed" not in page


def test_date_picks_the_nearest_snapshot_on_or_before_it(alice, alice_account, login):
    scored(alice_account, days_ago(20), nps=-30)
    scored(alice_account, days_ago(0))
    client = login(alice)
    page = text(client.get(url(alice_account, date=days_ago(15).isoformat())))
    assert f"Computed health on {days_ago(20):%b} {days_ago(20).day}, {days_ago(20).year}" in page
    assert "this is the nearest earlier one" in page
    assert "No health score on or before" in text(client.get(url(alice_account, date=days_ago(25).isoformat())))
    # A malformed date is ignored, not an error: the latest score shows.
    response = client.get(url(alice_account, date="yesterday", compare="2025-13-45"))
    assert response.status_code == 200 and "the points added up) 73" in text(response)


def test_comparison_defaults_to_the_last_checkin_and_shows_signed_coloured_deltas(alice, alice_account, login):
    scored(alice_account, days_ago(12), nps=10, seat=55.0)  # NPS 50, seat 70 -> score 72
    scored(alice_account, days_ago(5), nps=-30)  # after the check-in: not the one compared with
    scored(alice_account, days_ago(0))  # NPS 75, seat 50 -> 73.3
    CheckInFactory(account=alice_account, date=days_ago(10))
    response = login(alice).get(url(alice_account))
    html, page = response.content.decode(), text(response)
    before = days_ago(12)
    assert (
        f"From {before:%b} {before.day}, {before.year} (the last check-in: {days_ago(10):%b} {days_ago(10).day}" in page
    )
    assert f'?date={before.isoformat()}">' in html  # the compared day links to its own breakdown
    assert "Health score 72 73 → +1" in page
    assert "NPS 50 +10 75 +30 ▲ +25" in page
    assert "Seat usage 70 55.0% 50 45.0% ▼ -20" in page
    assert "Billing 100 0 days 100 0 days → ±0" in page
    assert '<span class="health-delta health-delta-down"><span aria-hidden="true">▼</span> -20</span>' in html


def test_comparison_without_checkin_uses_30_days_earlier_or_the_date_given(alice, alice_account, login):
    scored(alice_account, days_ago(40), nps=-30)  # NPS 0 -> score 53
    scored(alice_account, days_ago(25), nps=10)
    scored(alice_account, days_ago(0))
    client = login(alice)
    page = text(client.get(url(alice_account)))
    assert "(30 days earlier" in page and "Health score 53 73 ▲ +20" in page
    page = text(client.get(url(alice_account, compare=days_ago(25).isoformat())))
    assert "Health score 67 73 ▲ +6" in page
    page = text(client.get(url(alice_account, compare=days_ago(60).isoformat())))
    assert "No score on or before" in page


def test_page_reads_a_snapshot_computed_by_the_engine(alice, alice_account, login):
    seat_usage = MetricDefinition.objects.get(key="seat_usage")
    for offset, value in enumerate([60, 62, 64]):
        MetricValueFactory(account=alice_account, metric=seat_usage, date=days_ago(offset), value=value)
    MetricValueFactory(
        account=alice_account, metric=MetricDefinition.objects.get(key="days_overdue"), date=days_ago(0), value=9
    )
    CheckInFactory(account=alice_account, date=days_ago(3), sentiment=5)
    health_recompute(as_of=days_ago(0), alert=False)
    snapshot = HealthSnapshot.objects.get(account=alice_account)
    page = text(login(alice).get(url(alice_account)))
    assert "62.0%" in page and "9 days" in page and "5 of 5" in page
    assert f"the points added up) {whole(snapshot.score)}" in page
    assert "Missing inputs: NPS, Support tickets, CSAT." in page


def test_account_page_links_to_the_health_breakdown(alice, alice_account, login):
    html = login(alice).get(f"/accounts/{alice_account.pk}/").content.decode()
    assert f'href="/accounts/{alice_account.pk}/health/"' in html and "Health breakdown" in html


@pytest.mark.parametrize("size", [2, 25])
def test_query_count_is_constant_in_history_and_overrides(
    alice, alice_account, login, django_assert_max_num_queries, size
):
    for n in range(size):
        scored(alice_account, days_ago(n + 1), nps=n % 50)
        CheckInFactory(account=alice_account, date=days_ago(n + 1))
        OverrideFactory(account=alice_account, cleared_at=timezone.now(), cleared_by=alice)
    scored(alice_account, days_ago(0))
    OverrideFactory(account=alice_account)
    client = login(alice)
    with django_assert_max_num_queries(11):
        response = client.get(url(alice_account))
    assert response.status_code == 200 and f"History: {size + 1} overrides" in text(response)
