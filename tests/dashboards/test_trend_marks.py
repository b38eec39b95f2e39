"""One threshold, one arrow: the same change of health points is marked the same on every page."""

import datetime
import functools
import re

import pytest
import time_machine

from scoring.trends import FLAT_BELOW, trend
from tests import helpers
from tests.factories import AccountFactory, CheckInFactory, HealthSnapshotFactory
from tests.helpers import text

TODAY = datetime.date(2026, 11, 30)
day = functools.partial(helpers.day, today=TODAY)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC), tick=False):
        yield


def table_mark(html: str, account) -> str:
    """The 30-day column of an account's portfolio row: its arrow and signed change."""
    row = re.search(rf'<tr data-account="{account.pk}">(.*?)</tr>', html, re.S).group(1)
    return text(re.search(r'<span class="health-delta[^"]*" title="[^"]*">(.*?)</span>', row, re.S).group(1))


def drops(html: str) -> dict[str, str]:
    """Biggest drops this week: account name → its arrow and signed change."""
    card = re.search(r"<h3>Biggest drops this week</h3>(.*?)</div>", html, re.S).group(1)
    items = re.findall(r'<a href="[^"]+">([^<]+)</a>\s*<span class="health-delta[^"]*">(.*?)</span>', card)
    return {text(name): text(mark) for name, mark in items}


@pytest.fixture
def accounts(alice):
    """Two accounts whose change is the same over 7 and over 30 days: one point lost, and four."""
    slipping, falling = AccountFactory(name="Slipping", owner=alice), AccountFactory(name="Falling", owner=alice)
    for account, before, now in ((slipping, 61, 60), (falling, 70, 66)):
        for offset in (-30, -7):
            HealthSnapshotFactory(account=account, date=day(offset), score=before)
        HealthSnapshotFactory(account=account, date=day(0), score=now)
        CheckInFactory(account=account, date=day(-7))
    return slipping, falling


def test_the_portfolio_table_and_its_biggest_drops_mark_a_change_alike(accounts, alice, login):
    slipping, falling = accounts
    html = login(alice).get("/portfolio/").content.decode()
    assert table_mark(html, slipping) == "→ -1" and table_mark(html, falling) == "▼ -4"
    listed = drops(html)
    assert listed == {"Falling": "▼ -4"}  # a point lost is flat in the table, so it is no drop either
    for name, mark in listed.items():
        assert mark == table_mark(html, {"Falling": falling, "Slipping": slipping}[name])


def test_the_account_and_health_pages_mark_it_as_the_portfolio_does(accounts, alice, login):
    slipping, falling = accounts
    client = login(alice)
    portfolio = client.get("/portfolio/").content.decode()
    for account in accounts:
        mark = table_mark(portfolio, account)
        since = text(client.get(f"/accounts/{account.pk}/").content.decode())
        health = text(client.get(f"/accounts/{account.pk}/health/?compare={day(-7).isoformat()}").content.decode())
        before, now = {slipping: (61, 60), falling: (70, 66)}[account]
        verdict = "Health dropped:" if mark.startswith("▼") else "No significant change: health"
        assert f"{verdict} {before} → {now} {mark}" in since  # significant exactly when the arrow is not flat
        assert f"Health score {before} {now} {mark}" in health


@pytest.mark.parametrize(
    ("delta", "shown"),
    [(-FLAT_BELOW, "▼ -3"), (-(FLAT_BELOW - 1), "→ -2"), (0, "→ ±0"), (FLAT_BELOW - 1, "→ +2"), (FLAT_BELOW, "▲ +3")],
)
def test_the_threshold_is_the_same_both_ways(delta, shown):
    assert str(trend(delta)) == shown
