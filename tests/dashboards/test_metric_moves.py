"""Metric moves compare 7-day means, never two single days: a weekly rhythm cannot flip a real decline."""

import datetime
import json
import re

import pytest
import time_machine
from django.utils import timezone

from accounts.models import MetricValue, User
from accounts.morning_emails import morning_emails_send
from dashboards.morning import checkins_due
from tests.factories import CheckInFactory, MetricDefinitionFactory

MONDAY = datetime.date(2026, 3, 16)  # the latest day with a value
SATURDAY = MONDAY - datetime.timedelta(days=30)  # the day 30 days before, and the last check-in


def usage(day: datetime.date) -> float:
    """Active users falling from 600 to 200 over 60 days, at 30% on weekends."""
    level = 200 + 400 * (MONDAY - day).days / 60
    return round(level * (0.3 if day.weekday() >= 5 else 1.0))


@pytest.fixture
def declining(alice, alice_account):
    with time_machine.travel(timezone.make_aware(datetime.datetime.combine(MONDAY, datetime.time(9))), tick=False):
        metric = MetricDefinitionFactory(key="active_users", label="Active users", unit="users")
        days = [MONDAY - datetime.timedelta(days=offset) for offset in range(60, -1, -1)]
        MetricValue.objects.bulk_create(
            MetricValue(account=alice_account, metric=metric, date=day, value=usage(day)) for day in days
        )
        CheckInFactory(account=alice_account, date=SATURDAY, next_checkin_on=MONDAY)
        yield alice_account


def test_the_trap_two_single_days_say_up():
    assert SATURDAY.weekday() == 5 and MONDAY.weekday() == 0
    assert usage(MONDAY) > usage(SATURDAY)


def test_the_page_says_down_and_its_numbers_agree(declining, alice, login):
    response = login(alice).get(f"/accounts/{declining.pk}/")
    [row] = [row for row in response.context["metrics"] if row.key == "active_users"]
    [move] = [move for move in response.context["since"].metric_moves if move.key == "active_users"]
    assert (row.change_30d.direction, move.direction) == ("down", "down")
    assert row.headline.end == MONDAY and row.headline.n == 7
    assert move.after == row.headline.value == row.change_30d.after
    assert move.before == row.change_30d.before  # the check-in was 30 days ago
    data = json.loads(re.search(r'id="account-chart-data" type="application/json">(.*?)</script>', response.text)[1])
    assert data["metrics"]["active_users"]["means"][-1] == row.headline.value
    assert data["metrics"]["active_users"]["values"][-1] == usage(MONDAY)
    page = response.text
    assert "7-day mean to Mar 16" in page and "vs 7-day mean to Feb 14" in page
    assert "metric-move metric-move-down" in page and "metric-move-up" not in page
    assert "Latest" not in page.split('id="metrics-title"')[1] and "daily min" in page


def test_the_morning_email_says_down(declining, alice, mailoutbox):
    User.objects.filter(pk=alice.pk).update(morning_email=True)
    assert morning_emails_send(today=MONDAY, checkins_due=checkins_due) == 1
    [line] = [line for line in mailoutbox[0].body.splitlines() if "Metric moves" in line]
    assert re.search(r"Active users down \d+% \(7-day mean [\d.]+ -> [\d.]+\)", line), line
    assert "Active users down" in mailoutbox[0].alternatives[0][0]


def test_a_week_without_values_has_no_mean_to_compare_with(alice, alice_account, login):
    with time_machine.travel(timezone.make_aware(datetime.datetime.combine(MONDAY, datetime.time(9))), tick=False):
        metric = MetricDefinitionFactory(key="active_users", label="Active users", unit="users")
        gap = [MONDAY - datetime.timedelta(days=offset) for offset in (40, 20, 0)]  # nothing in the week to the 30th
        MetricValue.objects.bulk_create(
            MetricValue(account=alice_account, metric=metric, date=day, value=100) for day in gap
        )
        CheckInFactory(account=alice_account, date=SATURDAY)
        response = login(alice).get(f"/accounts/{alice_account.pk}/")
    [move] = [move for move in response.context["since"].metric_moves if move.key == "active_users"]
    [row] = [row for row in response.context["metrics"] if row.key == "active_users"]
    assert (move.then, move.delta, row.change_30d.delta) == (None, None, None)
    assert (row.headline.value, row.headline.n) == (100, 1)
    assert "no values in the week to Feb 14" in response.text


def test_an_old_headline_still_has_its_30_day_change(alice, alice_account, login):
    """A feed that stopped 80 days ago: its 30-day change compares with the week to 110 days ago, which is read too."""
    with time_machine.travel(timezone.make_aware(datetime.datetime.combine(MONDAY, datetime.time(9))), tick=False):
        metric = MetricDefinitionFactory(key="active_users", label="Active users", unit="users")
        MetricValue.objects.bulk_create(
            MetricValue(account=alice_account, metric=metric, date=MONDAY - datetime.timedelta(days=days), value=value)
            for days, value in ((110, 200), (80, 100))
        )
        response = login(alice).get(f"/accounts/{alice_account.pk}/")
    [row] = [row for row in response.context["metrics"] if row.key == "active_users"]
    assert (row.change_30d.before, row.change_30d.after, row.change_30d.direction) == (200, 100, "down")


@pytest.mark.parametrize(
    ("before", "after", "direction", "notable"),
    [
        (100.0, 80.4, "down", True),  # -19.6% shows -20%: a move of 20% or more, as written
        (100.0, 80.6, "down", False),  # -19.4% shows -19%
        (100.0, 100.3, "flat", False),  # +0.3% shows +0%: no arrow
        (0.0, 0.04, "flat", False),  # from 0, +0.04 shows 0.0
    ],
)
def test_direction_and_notable_are_decided_on_the_change_as_shown(before, after, direction, notable):
    from accounts.metric_figures import Mean
    from dashboards.account_page import MetricMove

    day = datetime.date(2026, 3, 2)
    move = MetricMove("usage", "Usage", "", day, Mean(day, before, 7), Mean(day + datetime.timedelta(days=7), after, 7))
    assert (move.direction, move.notable) == (direction, notable)
