"""The renewals page (windows, forecast, flags, filters in place) and the account page's renewal section."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from accounts.services import account_save
from renewals.models import ForecastCall, Renewal
from tests.factories import (
    AccountFactory,
    ChurnReasonFactory,
    ForecastCallFactory,
    HealthSnapshotFactory,
    RenewalFactory,
)
from tests.helpers import HTMX, text

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 15)


def day(offset: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=offset)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime.datetime(2026, 6, 15, 12), tick=False):
        yield


def renewal(owner, *, due: int, arr: int, band: str | None = None, call: str | None = None, called: int = -5, **kw):
    account = AccountFactory(owner=owner, arr=arr, renewal_date=day(due), **kw)
    found = RenewalFactory(account=account, renewal_date=day(due), arr=arr)
    if band:
        HealthSnapshotFactory(
            account=account, date=day(-1), band=band, score={"red": 30, "yellow": 55, "green": 85}[band]
        )
    if call:
        ForecastCallFactory(renewal=found, call=call, made_on=day(called))
    return found


@pytest.fixture
def book(alice, bob, carol):
    """Alice's and Bob's team (A) and Carol's (B), across the windows."""
    return {
        "committed_red": renewal(alice, due=10, arr=10_000, band="red", call="commit", name="Red Commit"),
        "at_risk_green": renewal(alice, due=40, arr=20_000, band="green", call="at_risk", name="Green Worry"),
        "stale": renewal(bob, due=60, arr=30_000, band="yellow", call="likely", called=-45, name="Old Call"),
        "no_call": renewal(bob, due=120, arr=40_000, band="green", name="Silent"),
        "past_due": renewal(alice, due=-3, arr=5_000, band="green", call="commit", name="Late Close"),
        "far": renewal(alice, due=300, arr=99_000, name="Next Year"),
        "other_team": renewal(carol, due=20, arr=70_000, band="red", call="lost", name="Other Team"),
    }


def test_the_manager_sees_the_windows_by_call_and_band_with_forecast_and_arr_at_risk(book, maria, login):
    response = login(maria).get("/renewals/")
    assert response.status_code == 200
    summaries = {summary.days: summary for summary in response.context["summaries"]}
    thirty = summaries[30]
    assert (thirty.total.count, thirty.total.arr) == (2, 15_000)  # Red Commit, and Late Close past its date
    assert (thirty.forecast.arr, thirty.at_risk.arr) == (15_000, 10_000)  # red counts at risk whatever the call
    ninety = summaries[90]
    assert ninety.total.arr == 65_000 and ninety.by_call["likely"].arr == 30_000
    assert (ninety.forecast.arr, ninety.at_risk.arr) == (45_000, 30_000)  # at risk: the call, and the red one
    assert ninety.by_band["green"].arr == 25_000
    half_year = summaries[180]
    assert (half_year.total.count, half_year.by_call["none"].arr) == (5, 40_000)
    page = text(response)
    assert "Other Team" not in page and "Next Year" not in page  # another team's; beyond 180 days


def test_flags_say_why(book, maria, login):
    rows = {row.account.name: row for row in login(maria).get("/renewals/?within=180").context["page"]}
    assert rows["Red Commit"].flags == ["Committed, but health is red"]
    assert rows["Green Worry"].flags == ["Called at risk, but health is green"]
    assert rows["Old Call"].flags == ["Call is 45 days old"]
    assert rows["Silent"].flags == []  # no call, but 120 days out: none is needed yet
    assert rows["Old Call"].missing_call is False
    assert rows["Late Close"].flags == ["Past its date, not closed"]


def test_filters_and_sort_update_in_place_with_a_short_url(book, maria, login):
    response = login(maria).get(
        "/renewals/", {"within": "180", "flag": "disagree", "call": "", "sort": "arr", "desc": "on"}, headers=HTMX
    )
    assert response.status_code == 200
    page = text(response)
    assert page.index("Green Worry") < page.index("Red Commit") and "Old Call" not in page
    assert response["HX-Push-Url"] == "/renewals/?within=180&flag=disagree&sort=arr&desc=on"
    assert 'id="results"' in response.content.decode() and "Forecast" not in text(response)


def test_a_bad_filter_is_dropped_with_a_note(book, maria, login):
    response = login(maria).get("/renewals/?call=maybe&within=7")
    assert response.status_code == 200
    assert "maybe is not a choice here; this filter is ignored." in text(response)
    assert response.context["within"] == 90


def test_a_csm_picking_another_teams_csm_gets_nothing_of_theirs(book, alice, carol, login):
    response = login(alice).get(f"/renewals/?csm={carol.pk}&within=180")
    assert "Other Team" not in text(response)


def test_the_page_reads_a_fixed_number_of_queries(alice, maria, login, django_assert_max_num_queries):
    for index in range(30):
        renewal(alice, due=index, arr=1000, band="green", call="commit")
    client = login(maria)
    with django_assert_max_num_queries(9):
        assert client.get("/renewals/").status_code == 200


def test_a_long_list_pages_in_place_while_the_windows_count_every_renewal(alice, maria, login, monkeypatch):
    monkeypatch.setattr("renewals.views.PAGE_SIZE", 3)
    for index in range(7):
        renewal(alice, due=index + 1, arr=1000, name=f"Due {index + 1:02d}")
    client = login(maria)
    first = client.get("/renewals/?sort=arr")
    page = text(first)
    assert "7 renewals due within 90 days, 1–3 shown." in page and "Page 1 of 3" in page
    assert "Due 01" in page and "Due 04" not in page
    assert {summary.days: summary.total.count for summary in first.context["summaries"]}[90] == 7
    second = client.get("/renewals/?sort=arr&page=2", headers=HTMX)
    assert second["HX-Push-Url"] == "/renewals/?sort=arr&page=2"
    assert "Due 04" in text(second) and "Due 01" not in text(second) and "4–6 shown" in text(second)
    # Sorting again, or a page past the end, lands on a page that exists.
    assert 'href="?sort=account"' in second.content.decode()  # a new order starts on its first page
    assert "Due 07" in text(client.get("/renewals/?sort=arr&page=99"))


def test_an_empty_page_says_where_renewals_come_from(alice, login):
    assert "A renewal opens when an account has a renewal date" in text(login(alice).get("/renewals/"))


# ---- the account page's section ----


def test_a_csm_records_a_call_in_place(book, alice, login):
    target = book["committed_red"]
    response = login(alice).post(
        f"/renewals/{target.pk}/call/", {"call": "at_risk", "note": "Champion left"}, headers=HTMX
    )
    assert response.status_code == 200
    call = ForecastCall.objects.filter(renewal=target).first()
    assert (call.call, call.note, call.made_by, call.made_on) == ("at_risk", "Champion left", alice, TODAY)
    assert "At risk" in text(response) and 'id="renewal"' in response.content.decode()


def test_a_bad_call_is_refused_with_a_message(book, alice, login):
    target = book["committed_red"]
    response = login(alice).post(f"/renewals/{target.pk}/call/", {"call": "maybe"}, headers=HTMX)
    assert response.status_code == 422
    assert "Select a valid choice. maybe is not one of the available choices." in text(response)
    assert target.calls.count() == 1


def test_closing_with_a_contradiction_re_shows_the_form_with_the_reason(book, alice, login):
    target = book["committed_red"]
    response = login(alice).post(
        f"/renewals/{target.pk}/close/",
        {"outcome": "expanded", "new_arr": "9000", "closed_on": TODAY.isoformat()},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "An expansion's new ARR is above 10,000.00." in text(response)
    target.refresh_from_db()
    assert target.is_open


def test_closing_as_churned_churns_the_account(book, alice, login):
    target = book["committed_red"]
    reason = ChurnReasonFactory(name="Budget cut")
    response = login(alice).post(
        f"/renewals/{target.pk}/close/",
        {"outcome": "churned", "churn_reason": reason.pk, "closed_on": TODAY.isoformat(), "note": "Froze all spend"},
        headers=HTMX,
    )
    assert response.status_code == 200
    target.account.refresh_from_db()
    assert (target.account.status, target.account.churn_reason) == ("churned", "Budget cut")
    assert "Churned" in text(response) and "Froze all spend" in text(response)


def test_another_csms_renewal_is_a_404_and_a_manager_may_call_it(book, alice, bob, maria, carol, login):
    bobs = book["stale"]
    assert login(alice).post(f"/renewals/{bobs.pk}/call/", {"call": "commit"}).status_code == 404
    assert login(carol).post(f"/renewals/{bobs.pk}/close/", {"outcome": "renewed"}).status_code == 404
    assert login(maria).post(f"/renewals/{bobs.pk}/call/", {"call": "commit"}).status_code == 302


def test_the_account_page_shows_the_renewal_and_its_calls(book, alice, login):
    target = book["stale"]
    page = text(login(alice).get(target.account.get_absolute_url()))
    assert "Renewal" in page and "Likely" in page and "stale" in page


def test_a_renewal_date_a_closed_term_has_is_refused_with_a_message(alice, login):
    account = AccountFactory(owner=alice, renewal_date=None, arr=12_000)
    RenewalFactory(account=account, renewal_date=day(-100), outcome="renewed", new_arr=12_000, closed_on=day(-100))
    response = login(alice).post(
        f"/accounts/{account.pk}/renewal/", {"renewal_date": day(-100).isoformat(), "arr": "12000"}, headers=HTMX
    )
    assert response.status_code == 422 and "already has a renewal on that date" in text(response)
    account_save(account=account, data={"renewal_date": day(-100)}, by=alice)  # the form: no clash, no new term
    assert not Renewal.objects.open().filter(account=account).exists()


def test_a_churned_accounts_leftover_renewal_cannot_be_called_or_closed(book, alice, login):
    target = book["committed_red"]
    type(target.account).objects.filter(pk=target.account_id).update(status="churned", churned_on=TODAY)
    assert login(alice).post(f"/renewals/{target.pk}/call/", {"call": "commit"}).status_code == 404


def test_an_account_without_one_can_open_its_renewal(alice, login):
    account = AccountFactory(owner=alice, renewal_date=None, arr=12_000)
    response = login(alice).post(
        f"/accounts/{account.pk}/renewal/", {"renewal_date": day(200).isoformat(), "arr": "12000"}, headers=HTMX
    )
    assert response.status_code == 200
    opened = Renewal.objects.get(account=account)
    assert (opened.renewal_date, opened.arr) == (day(200), Decimal("12000"))
    again = login(alice).post(
        f"/accounts/{account.pk}/renewal/", {"renewal_date": day(201).isoformat(), "arr": "1"}, headers=HTMX
    )
    assert again.status_code == 422 and "already has an open renewal" in text(again)


def test_editing_the_accounts_renewal_date_moves_its_open_renewal(book, alice):
    target = book["no_call"]
    account = target.account
    account_save(account=account, data={"renewal_date": day(150)}, by=alice)
    target.refresh_from_db()
    assert target.renewal_date == day(150)
