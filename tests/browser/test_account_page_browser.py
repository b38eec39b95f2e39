"""The account page in Chromium: open it from the account list, log a check-in inline, switch the comparison."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import CheckIn
from scoring.models import HealthModel, HealthModelVersion
from tests.factories import CheckInFactory, HealthSnapshotFactory, MetricDefinitionFactory, MetricValueFactory

pytestmark = [pytest.mark.browser, pytest.mark.dates]  # data built relative to today: run on frozen dates too


def health_version() -> HealthModelVersion:
    """The default model's version. A live-server test empties the database after it (migration data too),
    so a later one makes the model again."""
    model, _ = HealthModel.objects.get_or_create(segment="", defaults={"name": "Default health"})
    if model.current_version is None:
        model.current_version = HealthModelVersion.objects.create(model=model, number=1)
        model.save(update_fields=["current_version"])
    return model.current_version


@pytest.fixture
def account(alice_account):
    """Alice's account with a last check-in, a health history and a metric, so every chart has data."""
    today = timezone.localdate()
    CheckInFactory(account=alice_account, date=today - datetime.timedelta(days=20), notes="Kick-off call")
    for days, score in ((200, 35.0), (60, 55.0), (20, 62.0), (0, 78.0)):
        HealthSnapshotFactory(
            account=alice_account, date=today - datetime.timedelta(days=days), score=score, version=health_version()
        )
    usage = MetricDefinitionFactory(key="active_users", label="Active users", unit="users")
    for days, value in ((40, 50), (10, 65), (1, 70)):
        MetricValueFactory(account=alice_account, metric=usage, date=today - datetime.timedelta(days=days), value=value)
    return alice_account


def test_checkin_logged_inline_appears_without_a_reload(page, log_in, alice, account):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(alice)
    page.goto("/accounts/")
    with page.expect_navigation():
        page.locator("#results").get_by_role("link", name=account.name).click()
    expect(page).to_have_url(re.compile(rf"/accounts/{account.pk}/$"))
    expect(page.locator("h1")).to_contain_text(account.name)
    url = page.url

    # Charts are drawn from the json_script data: the trend and the metric's sparkline.
    expect(page.locator(".chart.is-drawn canvas[data-chart=trend]")).to_have_count(1)
    expect(page.locator(".chart.is-drawn canvas[data-chart=sparkline]")).to_have_count(1)

    page.evaluate("window.pulseMarker = 'still here'")  # a reload would wipe it
    section = page.locator("#checkins")
    section.get_by_label("Positive", exact=True).check()
    section.get_by_label("Notes").fill("Walked through the renewal; they want SSO.")
    section.get_by_role("button", name="Log check-in").click()

    expect(section.locator(".timeline li").first).to_contain_text("Walked through the renewal; they want SSO.")
    expect(section.locator(".timeline li")).to_have_count(2)
    assert page.evaluate("window.pulseMarker") == "still here"
    assert page.url == url
    checkin = CheckIn.objects.get(notes="Walked through the renewal; they want SSO.")
    assert (checkin.account, checkin.csm, checkin.sentiment) == (account, alice, 4)
    assert errors == []


def test_compare_with_30_days_swaps_the_section_and_keeps_the_url_true(page, log_in, alice, account):
    log_in(alice)
    page.goto(f"/accounts/{account.pk}/")
    since = page.locator("#since")
    expect(since.locator("h2")).to_have_text("Since the last check-in")
    page.evaluate("window.pulseMarker = 1")

    since.get_by_role("link", name="30 days").click()

    expect(page.locator("#since h2")).to_have_text("Since 30 days ago")
    expect(page).to_have_url(re.compile(rf"/accounts/{account.pk}/\?since=30$"))
    assert page.evaluate("window.pulseMarker") == 1
    page.go_back()
    expect(page.locator("#since h2")).to_have_text("Since the last check-in")
