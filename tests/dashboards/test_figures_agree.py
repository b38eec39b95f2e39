"""Every figure shown on more than one page is the same figure on each of them.

For one set of generated data (a year of answers from named and unnamed respondents, check-ins,
a metric with a weekly rhythm, health computed by the engine), the portfolio, the account page,
the account's health page, Results filtered to the account and the team rollup are rendered, and
what each page shows is read back from its HTML: the score and its band, the NPS with its n, the
CSAT with its n; and on the account page, a metric's headline, its sparkline's last point and its
"since the last check-in" figure. Each CSM owns one account, so the rollup's CSM row is that account's.
"""

import datetime
import html as html_lib
import random
import re

import pytest
import time_machine

from core.numbers import plain
from scoring.services import health_recompute
from tests.factories import (
    AccountFactory,
    CheckInFactory,
    ContactFactory,
    MetricValueFactory,
    ResponseFactory,
)
from tests.helpers import at, text

TODAY = datetime.date(2026, 6, 15)  # a Monday


def one(pattern: str, page: str, what: str) -> re.Match:
    match = re.search(pattern, page, re.S)
    assert match, f"{what} not found"
    return match


def _history(account, rng: random.Random) -> None:
    """A year of answers (some contacts answer twice, some answers have no contact), check-ins and seat usage."""
    contacts = [ContactFactory(account=account) for _ in range(4)]
    for days_ago in range(0, 400, 9):
        contact = rng.choice([*contacts, None])
        kind = rng.choice(["nps", "nps", "csat"])
        score = rng.randint(0, 10) if kind == "nps" else rng.randint(1, 5)
        ResponseFactory(
            account=account,
            contact=contact,
            kind=kind,
            score=score,
            answered_at=at(TODAY - datetime.timedelta(days=days_ago), hour=rng.randint(8, 18)),
        )
    for days_ago in (100, 40, 12):
        CheckInFactory(account=account, date=TODAY - datetime.timedelta(days=days_ago), sentiment=rng.randint(2, 5))
    for days_ago in range(120):
        day = TODAY - datetime.timedelta(days=days_ago)
        weekday = day.weekday() < 5
        value = (60 if weekday else 15) + days_ago / 5  # falling, with a weekly rhythm
        MetricValueFactory(account=account, metric__key="seat_usage", date=day, value=value)


@pytest.fixture
def world(alice, bob, maria):
    with time_machine.travel(at(TODAY, 9), tick=False):
        rng = random.Random(12)
        accounts = []
        for owner in (alice, bob):
            account = AccountFactory(owner=owner)
            _history(account, rng)
            accounts.append(account)
        for days_ago in (30, 7, 0):
            health_recompute(as_of=TODAY - datetime.timedelta(days=days_ago), alert=False)
        yield accounts


def _portfolio(client, account) -> dict:
    row = one(rf'<tr data-account="{account.pk}">(.*?)</tr>', client.get("/portfolio/").content.decode(), "row")[1]
    health = one(r'data-label="Health".*?<span class="[^"]*health-chip-(\w+)[^"]*"[^>]*>([^<]*)<', row, "health")
    nps = text(one(r'data-label="NPS"[^>]*>(.*?)</td>', row, "NPS")[1])
    return {"band": health[1], "score": health[2].strip(), "nps": nps.replace("n=", "n = ")}


def _account_page(client, account) -> dict:
    response = client.get(f"/accounts/{account.pk}/")
    page = response.content.decode()
    health = one(r'class="health-number health-bg-(\w+)">(\d+)<', page, "score")
    figures = one(r'<dl class="health-facts survey-figures">(.*?)</dl>', page, "survey figures")[1]
    found = {"band": health[1], "score": health[2]}
    for label, key in (("NPS", "nps"), ("CSAT", "csat")):
        block = one(rf"<dt>{label}</dt>\s*<dd>(.*?)</dd>", figures, label)[1]
        value = text(one(r"<a [^>]*>(.*?)</a>", block, label)[1])
        n = one(r"n = (\d+)", block, "n")[1]
        found[key] = f"{value} n = {n}"
    # The seat-usage headline in the Metrics card, the sparkline's last point and "since"'s Now.
    metrics = one(r'<table class="data compact account-metrics">(.*?)</table>', page, "metrics card")[1]
    row = one(r"<th scope=\"row\">Seat usage</th>(.*?)</tr>", metrics, "seat usage row")[1]
    found["seat_usage"] = one(r'data-label="7-day mean">([^<]*)<', row, "headline")[1].strip()
    sparkline = response.context["chart_data"]["metrics"]["seat_usage"]["means"][-1]
    found["seat_usage_sparkline"] = plain(sparkline)
    moves = one(r'<table class="data compact since-metrics">(.*?)</table>', page, "since metrics")[1]
    since_row = one(r"Seat usage(?:(?!</tr>).)*</th>(.*?)</tr>", moves, "since seat usage")[1]
    found["seat_usage_since"] = text(re.findall(r'<td class="num">(.*?)</td>', since_row, re.S)[1]).split()[0]
    return found


def _health_page(client, account) -> dict:
    page = client.get(f"/accounts/{account.pk}/health/").content.decode()
    health = one(r'class="health-number health-bg-(\w+)">(\d+)<', page, "score")
    return {"band": health[1], "score": health[2]}


def _results(client, account) -> dict:
    found = {}
    for kind in ("nps", "csat"):
        page = client.get(f"/results/?account={account.pk}&period=365&kind={kind}").content.decode()
        value = text(one(r'<p class="kpi-value">(.*?)</p>', page, "headline")[1])
        n = one(r"<span>n = ([\d,]+)</span>", page, "n")[1]
        found[kind] = f"{value} n = {n}"
    return found


def _rollup(client, account) -> dict:
    """The CSM's rows (the CSM owns only this account) and the account's line in the drill-down."""
    page = client.get("/team/?period=365").content.decode()
    name = html_lib.escape(account.owner.name)
    rows = [row for row in re.findall(r"<tr[^>]*>.*?</tr>", page, re.S) if name in row]

    def cell(key: str) -> str:
        found = [one(rf'data-cell="{key}"[^>]*>(.*?)</td>', row, key)[1] for row in rows if f'data-cell="{key}"' in row]
        assert found, f"no {key} cell for {name}"
        return text(found[0])

    shown = {"mean_health": cell("health"), "nps": cell("nps"), "csat": cell("csat")}
    drill = client.get("/team/?period=365&show=accounts").content.decode()
    chip = one(rf"{re.escape(html_lib.escape(account.name))}</a>.*?rollup-band-(\w+)\">([^<]*)<", drill, "drill health")
    shown["band"], shown["score"] = chip[1], chip[2].strip()
    return shown


def test_each_shared_figure_is_the_same_on_every_page(world, alice, bob, maria, login):
    with time_machine.travel(at(TODAY, 10), tick=False):
        for account, csm in zip(world, (alice, bob), strict=True):
            client = login(csm)
            portfolio = _portfolio(client, account)
            account_page = _account_page(client, account)
            health_page = _health_page(client, account)
            results = _results(client, account)
            rollup = _rollup(login(maria), account)

            score_and_band = {key: account_page[key] for key in ("score", "band")}
            for name, shown in (("portfolio", portfolio), ("health page", health_page), ("rollup", rollup)):
                assert {key: shown[key] for key in ("score", "band")} == score_and_band, name
            assert portfolio["nps"] == account_page["nps"] == results["nps"], (portfolio, account_page, results)
            assert account_page["csat"] == results["csat"]
            assert rollup["nps"] == account_page["nps"] and rollup["csat"] == account_page["csat"]
            assert rollup["mean_health"] == f"{account_page['score']} n = 1"  # the mean of this one account
            assert (
                account_page["seat_usage"] == account_page["seat_usage_sparkline"] == account_page["seat_usage_since"]
            )
