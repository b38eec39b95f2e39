"""A manager reads the team rollup in Chromium and drills down from a number to one account."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.settling import htmx_settled
from tests.factories import AccountFactory, HealthSnapshotFactory

pytestmark = [pytest.mark.browser, pytest.mark.dates]  # data built relative to today: run on frozen dates too


@pytest.fixture
def default_model(transactional_db):
    """The default health model, which snapshots name. The migrations create it, but the live server's
    tests flush the database after each test, so a browser test that runs after another one must
    bring it back."""
    from scoring.models import HealthModel, HealthModelVersion

    model, _ = HealthModel.objects.get_or_create(segment="", defaults={"name": "Default health model"})
    if model.current_version_id is None:
        model.current_version = HealthModelVersion.objects.create(model=model, number=1)
        model.save(update_fields=["current_version"])
    return model


@pytest.fixture
def team_accounts(default_model, alice, bob, carol):
    today = timezone.localdate()

    def account(name, owner, score, **fields):
        created = AccountFactory(name=name, owner=owner, **fields)
        HealthSnapshotFactory(account=created, date=today - datetime.timedelta(days=1), score=score)
        return created

    return {
        "red": account("Acme Alpha", alice, 25.0, arr=120_000),
        "green": account("Apex Analytics", alice, 85.0, arr=60_000, segment="smb"),
        "bob": account("Bravo Bakery", bob, 30.0, segment="smb"),
        "carol": account("Charlie Chemicals", carol, 20.0),
    }


def test_manager_drills_down_from_a_red_count_to_the_account(page, log_in, maria, alice, team_accounts):
    log_in(maria)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()

    expect(page).to_have_url(re.compile(r"/team/$"))
    expect(page.locator("h1")).to_have_text("Team rollup")
    expect(page.locator("#rollup")).not_to_contain_text("Carol Chen")
    expect(page.locator("canvas[data-chart=bands]")).to_be_visible()  # drawn by rollup.js (hidden until then)

    alice_row = page.locator("#rollup-health-title ~ .table-wrap tbody tr", has_text="Alice Archer")
    alice_row.locator("td[data-cell=band-red] a").first.click()

    expect(page).to_have_url(re.compile(rf"/portfolio/{alice.pk}/\?band=red$"))
    rows = page.locator("tr[data-account]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Acme Alpha")

    rows.first.get_by_role("link", name="Acme Alpha").click()

    expect(page).to_have_url(re.compile(rf"/accounts/{team_accounts['red'].pk}/$"))
    expect(page.locator("h1")).to_contain_text("Acme Alpha")


def test_filters_and_segment_drill_downs_update_in_place(page, log_in, maria, team_accounts):
    log_in(maria)
    page.goto("/team/")
    page.evaluate("window.notReloaded = true")

    page.select_option("select[name=period]", "365")

    expect(page).to_have_url(re.compile(r"/team/\?period=365$"))
    expect(page.locator("#rollup-surveys-title")).to_have_text("Surveys, last 12 months")
    htmx_settled(page)

    smb_row = page.locator("#rollup-health-title ~ .table-wrap tbody tr", has_text="SMB")
    smb_row.locator("td[data-cell=band-red] a").first.click()

    expect(page.locator("#rollup-drill")).to_contain_text("Accounts: SMB · Red")
    expect(page.locator("#rollup-drill tbody tr")).to_have_count(1)
    expect(page.locator("#rollup-drill")).to_contain_text("Bravo Bakery")
    expect(page).to_have_url(re.compile(r"show=accounts"))
    assert page.evaluate("window.notReloaded") is True  # swapped by htmx, not a new page
    expect(page.locator("canvas[data-chart=trend]")).to_be_visible()  # redrawn after the swap
