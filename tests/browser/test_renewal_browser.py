"""Renewals in Chromium: from the renewals page to the account, record a call and close the renewal in place."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Account
from renewals.models import ForecastCall, Renewal
from tests.browser.settling import htmx_settled
from tests.factories import AccountFactory, RenewalFactory

pytestmark = [pytest.mark.browser, pytest.mark.dates]  # data built relative to today: run on frozen dates too


def test_a_csm_records_a_call_and_closes_the_renewal_without_a_reload(page, log_in, alice):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    today = timezone.localdate()
    account = AccountFactory(
        name="Bluebird Labs", owner=alice, arr=40_000, renewal_date=today + datetime.timedelta(days=20)
    )
    renewal = RenewalFactory(account=account, renewal_date=account.renewal_date, arr=40_000)
    log_in(alice)

    page.goto("/renewals/")
    row = page.locator(f"tr[data-renewal='{renewal.pk}']")
    expect(row).to_contain_text("No call")
    page.locator("#id_flag").select_option("missing")  # filters in place, with the URL
    expect(page).to_have_url(re.compile(r"/renewals/\?flag=missing$"))
    expect(page.locator(f"tr[data-renewal='{renewal.pk}']")).to_have_count(1)
    htmx_settled(page)
    with page.expect_navigation():
        page.locator(f"tr[data-renewal='{renewal.pk}']").get_by_role("link", name="Bluebird Labs").click()

    page.evaluate("window.pulseMarker = 'still here'")  # a reload would wipe it
    section = page.locator("#renewal")
    section.get_by_text("Record a call").click()
    section.get_by_label("Likely").check()
    section.get_by_label("Note").first.fill("Budget approved, legal review next week.")
    section.get_by_role("button", name="Save the call").click()
    expect(section.locator(".renewal-calls")).to_contain_text("Budget approved, legal review next week.")
    assert ForecastCall.objects.get(renewal=renewal).call == "likely"
    htmx_settled(page)

    section.get_by_text("Close the renewal").first.click()
    section.get_by_label("Outcome").select_option("expanded")
    section.get_by_label("New ARR").fill("39000")
    section.get_by_role("button", name="Close the renewal").click()
    expect(section).to_contain_text("An expansion's new ARR is above 40,000.00.")  # refused in place, kept open
    htmx_settled(page)
    section.get_by_label("New ARR").fill("46000")
    section.get_by_role("button", name="Close the renewal").click()
    expect(section.locator(".renewal-history")).to_contain_text("Expanded")
    expect(section).to_contain_text("No call yet")  # the next term's renewal, opened by the close

    assert page.evaluate("window.pulseMarker") == "still here"
    assert Account.objects.get(pk=account.pk).arr == 46_000
    assert Renewal.objects.open().get(account=account).renewal_date.year == account.renewal_date.year + 1
    assert errors == []
