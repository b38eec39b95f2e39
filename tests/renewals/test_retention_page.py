"""The retention page: each role's scope, the figures as shown, the chart's data, empty states, query counts."""

import datetime
import json
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ArrChange
from renewals.models import Call, Outcome
from tests.factories import (
    AccountFactory,
    ChurnReasonFactory,
    ForecastCallFactory,
    HealthSnapshotFactory,
    RenewalFactory,
    UserFactory,
)
from tests.helpers import text

pytestmark = pytest.mark.django_db

URL = "/renewals/retention/"
D = datetime.date


@pytest.fixture(autouse=True)
def frozen_today():
    """The page's today: May 15, 2026 (the last four quarters: Q2 2025 to Q1 2026)."""
    with time_machine.travel(datetime.datetime(2026, 5, 15, 12, tzinfo=datetime.UTC), tick=False):
        yield


def arr(account, on, value):
    ArrChange.objects.create(account=account, on=on, arr=value, source=ArrChange.Source.EDIT)


def renewal(account, *, churned: bool, call: str | None = None):
    closed = RenewalFactory(
        account=account,
        renewal_date=D(2026, 3, 1),
        outcome=Outcome.CHURNED if churned else Outcome.RENEWED,
        new_arr=0 if churned else account.arr,
        closed_on=D(2026, 3, 1),
        churn_reason=ChurnReasonFactory() if churned else None,
    )
    if call:
        ForecastCallFactory(renewal=closed, call=call, made_on=D(2025, 11, 1), made_by=account.owner)
    return closed


@pytest.fixture
def data(alice, bob, carol):
    a = AccountFactory(owner=alice, segment="smb")
    arr(a, D(2024, 1, 1), 100_000)
    arr(a, D(2025, 11, 1), 130_000)  # expanded mid-term
    b = AccountFactory(owner=bob, segment="smb")
    arr(b, D(2024, 1, 1), 50_000)
    arr(b, D(2026, 2, 1), 30_000)  # contracted
    c = AccountFactory(owner=carol, segment="enterprise")  # team B: 777,000 never reaches team A's page
    arr(c, D(2024, 1, 1), 777_000)
    renewal(a, churned=False, call=Call.COMMIT)
    HealthSnapshotFactory(account=a, date=D(2025, 11, 30), score=85.0)
    renewal(c, churned=True, call=Call.LIKELY)
    return a, b, c


def chart_of(page) -> dict:
    source = r'<script id="retention-chart-data" type="application/json">(.*?)</script>'
    found = re.search(source, page.content.decode())
    return json.loads(found.group(1))


def test_a_csm_sees_their_team_and_nothing_of_another(login, data, alice):
    page = login(alice).get(URL)
    assert page.status_code == 200
    words = text(page)
    # Team A: start 150,000, end 160,000, kept 100,000 + 30,000 = 130,000 -> GRR 86.7%, NRR 106.7%
    assert "GRR, last 12 months 86.7% n = 2" in words
    assert "NRR, last 12 months 106.7% n = 2" in words
    assert "Alice Archer 100.0% 130.0% 1 100,000 130,000 0 30,000" in words
    assert "Bob Brown 60.0% 60.0% 1 50,000 30,000 20,000 0" in words
    assert "777,000" not in words and "Carol Chen" not in words and "Team B" not in words
    # Who was right: alice's one renewal, called commit, green, renewed: too few to say.
    assert "Alice Archer 1 0 churned Too few renewals n = 1 Too few renewals n = 1 0 Too few renewals n = 1 0" in words
    assert "Everyone 1 0 churned" in words


def test_the_chart_gets_the_quarters_rounded_as_shown(login, data, maria):
    chart = chart_of(login(maria).get(URL))
    assert chart["labels"] == ["Q2 2025", "Q3 2025", "Q4 2025", "Q1 2026"]
    # Q4 2025: 150,000 -> 180,000 (the expansion on Nov 1); Q1 2026: 180,000 -> 160,000 (the contraction)
    assert chart["nrr"] == [100.0, 100.0, 120.0, 88.9]
    assert chart["grr"] == [100.0, 100.0, 100.0, 88.9]
    assert chart["n"] == [2, 2, 2, 2]
    assert chart["start_arr"][3] == "180,000"


def test_an_admin_sees_every_team(login, data, adam):
    words = text(login(adam).get(URL))
    assert "By team Team A" in words and "Team B 100.0% 100.0% 1 777,000 777,000" in words
    assert "Carol Chen 1 1 churned" in words


def test_empty_states_say_what_to_do_next(login, alice, adam):
    words = text(login(alice).get(URL))
    assert "No ARR history to measure retention on yet." in words
    assert "Ask your admin to import the accounts with their ARR" in words
    assert "No closed renewals to compare yet." in words
    assert "Record a forecast call on each open renewal at least 90 days before it is due" in words
    assert "Import your accounts with their ARR (Setup → Import accounts)" in text(login(adam).get(URL))


def test_signed_out_goes_to_the_login(client):
    assert client.get(URL).status_code == 302


def test_the_page_runs_the_same_queries_for_more_accounts_and_renewals(login, adam):
    def add(count: int) -> None:
        for index in range(count):
            csm = UserFactory()
            account = AccountFactory(owner=csm, parent=None)
            arr(account, D(2024, 1, 1), 1_000 + index)
            renewal(account, churned=index % 3 == 0, call=Call.LIKELY if index % 2 else None)
            HealthSnapshotFactory(account=account, date=D(2025, 11, 30), score=30.0)

    def queries() -> int:
        client = login(adam)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured.captured_queries)

    add(2)
    small = queries()
    add(25)
    assert queries() == small


def test_managers_see_who_was_right_on_the_rollup_and_csms_do_not(login, data, maria, alice):
    words = text(login(maria).get("/team/"))
    assert "Who was right about renewals" in words
    # One closed renewal of team A (carol's is team B's): too few either way, with n.
    assert "CSMs' calls Too few renewals n = 1 Health model Too few renewals n = 1" in words
    assert "On 1 closed renewal, 90 days before each (0 without a call)." in words
    assert "Retention and who was right, per CSM" in words
    assert "Who was right" not in text(login(alice).get("/team/"))


def test_the_rollup_card_shows_accuracy_from_ten_renewals(login, maria, alice):
    for index in range(10):
        account = AccountFactory(owner=alice)
        arr(account, D(2024, 1, 1), 1_000)
        closed = renewal(account, churned=index < 3, call=Call.AT_RISK if index < 4 else Call.COMMIT)
        HealthSnapshotFactory(account=closed.account, date=D(2025, 11, 20), score=20.0 if index < 2 else 80.0)
    words = text(login(maria).get("/team/"))
    # Calls: 3 churned called at risk (right), 1 renewed called at risk (wrong), 6 commit renewed: 9 of 10.
    # Model: 2 red churned (right), 1 green churned (wrong), 7 green renewed: 9 of 10.
    assert "CSMs' calls 90% right n = 10 Health model 90% right n = 10" in words
